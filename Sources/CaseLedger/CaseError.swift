/// The one error shape of the case ledger: what went wrong (``Code``), a message for the
/// operator that says what to do, and the case, import line or field it concerns.
///
/// Modelled on `PostgresError`: the code is an opaque struct, so new codes do not break
/// callers that switch on them.
package struct CaseError: Error, CustomStringConvertible, Sendable, Equatable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        package var description: String { name }

        /// No case with that id (or not one the caller may see).
        package static let noSuchCase = Code("noSuchCase")
        /// The case's state does not allow the transition (``CaseTransition``).
        package static let illegalTransition = Code("illegalTransition")
        /// An argument is invalid (an empty reason, the same task force, …).
        package static let invalidInput = Code("invalidInput")
        /// The database holds a state this program does not know (a newer schema?).
        package static let unknownState = Code("unknownState")
        /// An import file cannot be read at all.
        package static let importFile = Code("importFile")
        /// One row of an import file is rejected; the others go on.
        package static let importRow = Code("importRow")
        /// The caller's login may not do this (its role, under row-level security).
        package static let notPermitted = Code("notPermitted")
    }

    package let code: Code
    package let message: String
    /// The case concerned, when there is one.
    package let caseID: Int64?
    /// The line of an import file, when the error is about one.
    package let line: Int?
    /// The field (of an import row, or of a command) concerned.
    package let field: String?

    package init(code: Code, message: String, caseID: Int64? = nil, line: Int? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.caseID = caseID
        self.line = line
        self.field = field
    }

    package var description: String { message }

    /// No case `id`.
    package static func noSuchCase(_ id: Int64) -> CaseError {
        CaseError(code: .noSuchCase, message: "no case with id \(id)", caseID: id)
    }

    /// Case `id` is in `state`, which does not allow `action` (a past participle: "rerouted").
    package static func illegal(_ id: Int64, state: CaseState, action: String) -> CaseError {
        CaseError(code: .illegalTransition, message: "case \(id) is \(state.rawValue); it cannot be \(action)", caseID: id)
    }

    package static func invalidInput(_ message: String, caseID: Int64? = nil, field: String? = nil) -> CaseError {
        CaseError(code: .invalidInput, message: message, caseID: caseID, field: field)
    }

    /// A rejected import row, or (without a line) an unreadable import file.
    package static func importProblem(_ message: String, line: Int? = nil, field: String? = nil) -> CaseError {
        CaseError(code: line == nil && field == nil ? .importFile : .importRow, message: message, line: line, field: field)
    }
}
