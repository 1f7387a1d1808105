/// The one error shape of the dashboard: what is wrong (``Code``), a message that says
/// what to do, and the option or field concerned. Database errors stay `PostgresError`.
package struct DashboardError: Error, CustomStringConvertible, Sendable, Equatable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        package var description: String { name }

        /// A `--listen` value that is not `HOST:PORT`.
        package static let invalidListenAddress = Code("invalidListenAddress")
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
