/// The one error shape of the case ledger: what went wrong (``Code``), a message for the
/// operator that says what to do, and the case, import line or field it concerns.
///
/// Modelled on `PostgresError`: the code is an opaque struct, so new codes do not break
/// callers that switch on them.
public struct CaseError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No case with that id (or not one the caller may see).
        public static let noSuchCase = Code("noSuchCase")
        /// The case's state does not allow the transition (``CaseTransition``).
        public static let illegalTransition = Code("illegalTransition")
        /// An argument is invalid (an empty reason, the same task force, …).
        public static let invalidInput = Code("invalidInput")
        /// The database holds a state this program does not know (a newer schema?).
        public static let unknownState = Code("unknownState")
        /// An import file cannot be read at all.
        public static let importFile = Code("importFile")
        /// One row of an import file is rejected; the others go on.
        public static let importRow = Code("importRow")
    }

    public let code: Code
    public let message: String
    /// The case concerned, when there is one.
    public let caseID: Int64?
    /// The line of an import file, when the error is about one.
    public let line: Int?
    /// The field (of an import row, or of a command) concerned.
    public let field: String?

    public init(code: Code, message: String, caseID: Int64? = nil, line: Int? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.caseID = caseID
        self.line = line
        self.field = field
    }

    public var description: String { message }

    /// No case `id`.
    public static func noSuchCase(_ id: Int64) -> CaseError {
        CaseError(code: .noSuchCase, message: "no case with id \(id)", caseID: id)
    }

    /// Case `id` is in `state`, which does not allow `action` (a past participle: "rerouted").
    public static func illegal(_ id: Int64, state: CaseState, action: String) -> CaseError {
        CaseError(code: .illegalTransition, message: "case \(id) is \(state.rawValue); it cannot be \(action)", caseID: id)
    }

    public static func invalidInput(_ message: String, caseID: Int64? = nil, field: String? = nil) -> CaseError {
        CaseError(code: .invalidInput, message: message, caseID: caseID, field: field)
    }

    /// A rejected import row, or (without a line) an unreadable import file.
    public static func importProblem(_ message: String, line: Int? = nil, field: String? = nil) -> CaseError {
        CaseError(code: line == nil && field == nil ? .importFile : .importRow, message: message, line: line, field: field)
    }
}
