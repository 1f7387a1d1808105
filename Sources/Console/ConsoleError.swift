/// The one error shape of the console: what is wrong (``Code``), a message that says what
/// to do, and the option concerned. Database errors stay `PostgresError`, casework
/// refusals `CaseError`.
package struct ConsoleError: Error, CustomStringConvertible, Sendable, Equatable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        package var description: String { name }

        /// A `--listen` value that is not `HOST:PORT`.
        package static let invalidListenAddress = Code("invalidListenAddress")
        /// A non-loopback address without TLS in front and without `--allow-plain-http`.
        package static let plainHTTPRefused = Code("plainHTTPRefused")
        /// An option out of range.
        package static let invalidOption = Code("invalidOption")
    }

    package let code: Code
    package let message: String
    package let field: String?

    package init(code: Code, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    package var description: String { message }
}
