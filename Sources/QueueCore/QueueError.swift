/// The one error shape of QueueCore: what went wrong (``Code``), a message that says what
/// to change, and the job it concerns. Database errors stay `PostgresError`.
///
/// Modelled on `PostgresError`: the code is an opaque struct, so a new code does not
/// break callers that switch on it.
public struct QueueError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The job cannot be enqueued as given.
        public static let invalidJob = Code("invalidJob")
        /// No job has this id (or the session cannot see it).
        public static let notFound = Code("notFound")
        /// The job is not in a state the operation applies to.
        public static let wrongState = Code("wrongState")
        /// No handler is registered for the job's kind in this runtime.
        public static let missingHandler = Code("missingHandler")
        /// A stored value this version does not know (a newer schema?).
        public static let unknownValue = Code("unknownValue")
    }

    public let code: Code
    public let message: String
    /// The job concerned, when there is one.
    public let jobID: Int64?

    public init(code: Code, message: String, jobID: Int64? = nil) {
        self.code = code
        self.message = message
        self.jobID = jobID
    }

    public var description: String { message }

    /// The job cannot be enqueued as given; `reason` says what to change.
    public static func invalidJob(_ reason: String) -> QueueError {
        QueueError(code: .invalidJob, message: "invalid job: \(reason)")
    }

    public static func notFound(_ id: Int64) -> QueueError {
        QueueError(code: .notFound, message: "no job with id \(id)", jobID: id)
    }

    /// Job `id` cannot be `operation` ("cancelled", "retried") in its current state.
    public static func wrongState(id: Int64, operation: String) -> QueueError {
        QueueError(code: .wrongState, message: "job \(id) cannot be \(operation) in its current state", jobID: id)
    }
}
