import CLibPQ

extension PostgresConnection {
    /// Quotes an identifier (role, schema) for the few statements that cannot take
    /// bound parameters, such as `CREATE ROLE`.
    public func escapeIdentifier(_ identifier: String) throws -> String {
        guard let handle, let escaped = PQescapeIdentifier(handle.pointer, identifier, identifier.utf8.count) else {
            throw PostgresError(code: .invalidArgument, message: "cannot quote identifier")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Whether the server asked for a password when this session was opened. A server
    /// that trusts the connection (`trust`, `peer`, …) asks for none, so connecting proves
    /// nothing about a password a person typed.
    public func usedPassword() -> Bool {
        guard let handle else { return false }
        return PQconnectionUsedPassword(handle.pointer) == 1
    }

    /// Quotes a literal for statements that cannot take bound parameters.
    public func escapeLiteral(_ literal: String) throws -> String {
        guard let handle, let escaped = PQescapeLiteral(handle.pointer, literal, literal.utf8.count) else {
            throw PostgresError(code: .invalidArgument, message: "cannot quote literal")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Hashes a password on the client with SCRAM-SHA-256 (whatever the server's
    /// `password_encryption`; md5 is never used), so
    /// the clear password never crosses the wire, nor lands in a log or in
    /// `pg_stat_activity`.
    public func encryptPassword(_ password: String, user: String) throws -> String {
        guard let handle, let encrypted = PQencryptPasswordConn(handle.pointer, password, user, "scram-sha-256") else {
            throw PostgresError(code: .invalidArgument, message: "cannot hash the password: \(String(cString: PQerrorMessage(handle?.pointer)))")
        }
        defer { PQfreemem(encrypted) }
        return String(cString: encrypted)
    }
}
