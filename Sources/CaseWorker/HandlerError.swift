/// The one error shape of the worker's handlers: why a run failed (``Code``), the
/// reason, and the tail of the program's stderr (already scrubbed of secrets).
///
/// Modelled on `PostgresError`: the code is an opaque struct.
public struct HandlerError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The program exited with a failure status or was killed.
        public static let exited = Code("exited")
        /// Its output is not a resolution.
        public static let invalidOutput = Code("invalidOutput")
        /// Its input could not be prepared.
        public static let io = Code("io")
    }

    public let code: Code
    public let reason: String
    public let stderrTail: String

    public init(code: Code, reason: String, stderrTail: String) {
        self.code = code
        self.reason = reason
        self.stderrTail = stderrTail
    }

    public var description: String {
        stderrTail.isEmpty ? reason : "\(reason); stderr: \(stderrTail)"
    }
}
