import Foundation

/// The one error shape of the domain module: what is wrong (``Code``), a message that
/// names the bad value and what to do, and where it is — the data file and field, or the
/// value and the valid ones.
///
/// Modelled on `PostgresError`: the code is an opaque struct, so a new code does not
/// break callers that switch on it.
package struct TaskForcesError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        package var description: String { name }

        /// A task force name that is not one of the eight.
        package static let unknownTaskForce = Code("unknownTaskForce")
        /// Input that cannot be used (an empty text, a handler's bad output, …).
        package static let invalidInput = Code("invalidInput")
        /// The routing model is missing or inconsistent.
        package static let modelUnavailable = Code("modelUnavailable")
        /// A deadline asked for a task force, matter kind or level the policy does not know.
        package static let notInPolicy = Code("notInPolicy")
        /// A data file (policy, calendar, catalogue) has a field that cannot be used.
        package static let invalidData = Code("invalidData")
    }

    package let code: Code
    package let message: String
    /// The data file concerned (`calendar.json`), when there is one.
    package let file: String?
    /// The path of the offending field in it (`holidays[3]`), or the input field; empty or
    /// nil when the whole file or input is at fault.
    package let field: String?
    /// The values that would have been valid, when they are few.
    package let known: [String]

    package init(code: Code, message: String, file: String? = nil, field: String? = nil, known: [String] = []) {
        self.code = code
        self.message = message
        self.file = file
        self.field = field
        self.known = known
    }

    package var description: String { message }
    package var errorDescription: String? { message }

    package static func unknownTaskForce(_ text: String) -> TaskForcesError {
        let known = TaskForce.allCases.map(\.rawValue)
        return TaskForcesError(code: .unknownTaskForce,
                               message: "unknown task force \"\(text)\"; use one of: \(known.joined(separator: ", "))", known: known)
    }

    package static func invalidInput(_ message: String, field: String? = nil) -> TaskForcesError {
        TaskForcesError(code: .invalidInput, message: message, field: field)
    }

    package static func modelUnavailable(_ reason: String) -> TaskForcesError {
        TaskForcesError(code: .modelUnavailable, message: "routing model unavailable: \(reason)")
    }

    /// The time-limit policy has no task force `key`.
    package static func policyTaskForce(_ key: String, known: [String]) -> TaskForcesError {
        TaskForcesError(code: .notInPolicy, message: "unknown task force \"\(key)\"; the time-limit policy knows: \(known.joined(separator: ", "))",
                        field: "task_force", known: known)
    }

    /// The time-limit policy has no matter kind `key`.
    package static func unknownKind(_ key: String, known: [String]) -> TaskForcesError {
        TaskForcesError(code: .notInPolicy, message: "unknown matter kind \"\(key)\"; the time-limit policy knows: \(known.joined(separator: ", "))",
                        field: "kind", known: known)
    }

    /// The escalation level is negative or beyond the policy's levels.
    package static func unknownEscalationLevel(_ level: Int, known: [Int]) -> TaskForcesError {
        TaskForcesError(code: .notInPolicy,
                        message: "unknown escalation level \(level); use 0 (first response) or one of the policy's levels: \(known.map(String.init).joined(separator: ", "))",
                        field: "escalation_level", known: known.map(String.init))
    }

    /// A field of a data file that cannot be used: `file: field problem`, e.g.
    /// `calendar.json: holidays[3] "2026-13-01" is not a date (YYYY-MM-DD)`.
    package static func invalidData(file: String, field: String, problem: String) -> TaskForcesError {
        TaskForcesError(code: .invalidData, message: field.isEmpty ? "\(file): \(problem)" : "\(file): \(field) \(problem)",
                        file: file, field: field)
    }

    /// Reads a data file, or throws an error naming it.
    static func contents(of url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw invalidData(file: url.path, field: "", problem: "cannot be read (\(error.localizedDescription))")
        }
    }
}
