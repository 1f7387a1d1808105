/// The one error shape of the worker's handlers: why a run failed (``Code``), the
/// reason, and the tail of the program's stderr (already scrubbed of secrets).
///
/// Modelled on `PostgresError`: the code is an opaque struct.
package struct HandlerError: Error, CustomStringConvertible, Sendable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        package var description: String { name }

        /// The program exited with a failure status or was killed.
        package static let exited = Code("exited")
        /// Its output is not a resolution.
        package static let invalidOutput = Code("invalidOutput")
        /// Its input could not be prepared.
        package static let io = Code("io")
    }

    package let code: Code
    package let reason: String
    package let stderrTail: String

    package init(code: Code, reason: String, stderrTail: String) {
        self.code = code
        self.reason = reason
        self.stderrTail = stderrTail
    }

    package var description: String {
        stderrTail.isEmpty ? reason : "\(reason); stderr: \(stderrTail)"
    }
}
