/// The one error shape of the dashboard: what is wrong (``Code``), a message that says
/// what to do, and the option or field concerned. Database errors stay `PostgresError`.
public struct DashboardError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A `--listen` value that is not `HOST:PORT`.
        public static let invalidListenAddress = Code("invalidListenAddress")
    }

    public let code: Code
    public let message: String
    public let field: String?

    public init(code: Code, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }
}
