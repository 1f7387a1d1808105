import Foundation
import CLibPQ

/// An error from PostgreSQL or from this client.
///
/// `code` says what kind of failure it was; `sqlState` carries the server's SQLSTATE
/// when there is one, so callers can tell a unique violation, a serialization failure,
/// a lost connection and a syntax error apart. Messages never contain passwords or
/// the values of bound parameters.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure. Opaque so that new kinds are not a breaking change.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Could not open a connection (server down, wrong host/port/database/credentials).
        public static let connectionFailed = Code("connectionFailed")
        /// An open connection broke (server restart, backend terminated, network cut).
        public static let connectionLost = Code("connectionLost")
        /// The server rejected a statement; see `sqlState`.
        public static let server = Code("server")
        /// A result value could not be decoded to the requested Swift type.
        public static let decoding = Code("decoding")
        /// The caller passed something unusable (e.g. a NUL byte in a text parameter).
        public static let invalidArgument = Code("invalidArgument")
        /// The connection or pool was closed by its owner.
        public static let closed = Code("closed")
        /// A wait for a free pooled connection timed out.
        public static let poolTimeout = Code("poolTimeout")
    }

    public let code: Code
    /// Five-character SQLSTATE from the server, e.g. `23505`.
    public let sqlState: String?
    /// The primary, human-readable message.
    public let message: String
    public let detail: String?
    public let hint: String?
    /// 1-based character position in the statement text where the server saw the error.
    public let position: Int?
    /// For constraint violations: the constraint's name.
    public let constraint: String?

    public init(
        code: Code, message: String, sqlState: String? = nil, detail: String? = nil,
        hint: String? = nil, position: Int? = nil, constraint: String? = nil
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.position = position
        self.constraint = constraint
    }

    public var description: String {
        var text = message
        if let sqlState { text = "\(text) (SQLSTATE \(sqlState))" }
        if let detail { text += "; detail: \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    /// SQLSTATE 23505.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// SQLSTATE 40001.
    public var isSerializationFailure: Bool { sqlState == "40001" }
    /// SQLSTATE 40P01.
    public var isDeadlock: Bool { sqlState == "40P01" }
    /// SQLSTATE 42601.
    public var isSyntaxError: Bool { sqlState == "42601" }
    /// SQLSTATE 42501 (also raised by row-level security denials on writes).
    public var isInsufficientPrivilege: Bool { sqlState == "42501" }
    /// The connection failed or broke: worth retrying once it comes back.
    public var isConnectionError: Bool {
        if code == .connectionLost || code == .connectionFailed { return true }
        guard let sqlState else { return false }
        // Class 08 (connection exception) and operator intervention: admin shutdown,
        // crash shutdown, cannot connect now.
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }
    /// Retrying the whole transaction may succeed (serialization failure, deadlock,
    /// lost connection).
    public var isTransient: Bool { isSerializationFailure || isDeadlock || isConnectionError }
    /// The value was refused, not the session: SQLSTATE class 22 (data exception: a NUL,
    /// a bad encoding, a value out of range) or 23 (a check, not-null or foreign-key
    /// violation), or a parameter the client itself refused. Retrying the same value
    /// fails again; other rows may succeed.
    public var isDataError: Bool {
        if code == .invalidArgument { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("22") || sqlState.hasPrefix("23")
    }
}

extension PostgresError {
    /// Builds an error from a failed result, reading its diagnostic fields.
    static func from(result: OpaquePointer?, connection: OpaquePointer?) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            guard let result, let value = PQresultErrorField(result, Int32(code)) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        let sqlState = field(UInt8(ascii: "C"))
        let primary = field(UInt8(ascii: "M"))
        let fallback = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) }
        let message = (primary ?? fallback ?? "unknown error")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let lost = connection.map { PQstatus($0) == CONNECTION_BAD } ?? true
        return PostgresError(
            code: lost ? .connectionLost : .server,
            message: message,
            sqlState: sqlState,
            detail: field(UInt8(ascii: "D")),
            hint: field(UInt8(ascii: "H")),
            position: field(UInt8(ascii: "P")).flatMap { Int($0) },
            constraint: field(UInt8(ascii: "n"))
        )
    }
}
