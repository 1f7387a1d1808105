import CLibPQ
import Foundation

/// Where and how to connect.
///
/// The connection string is handed to libpq unchanged, so every libpq setting works:
/// a URI (`postgresql://user:secret@host:5432/db?sslmode=require`), a key/value conninfo
/// (`host=/tmp port=5432 dbname=db`), or an empty string to use libpq's own `PG*`
/// environment variables (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`,
/// `PGSSLMODE`, …). Use ``redacted`` whenever the string is shown to a person.
public struct PostgresConfiguration: Sendable {
    /// The libpq connection string (URI or conninfo). May contain a password.
    public var connectionString: String
    /// Reported to the server as `application_name` (visible in `pg_stat_activity`).
    public var applicationName: String
    /// Seconds libpq waits for a connection before giving up.
    public var connectTimeoutSeconds: Int
    /// The server ends a session of ours that sits inside a transaction for this long
    /// without a statement (`idle_in_transaction_session_timeout`), releasing its locks.
    /// A client cut off mid-transaction (a network partition, a frozen host) otherwise
    /// leaves a backend holding row locks until the server's own TCP keepalive notices,
    /// hours later with default settings — and everyone needing those rows waits. Our
    /// transactions never idle that long. `nil` leaves the server's setting.
    public var idleInTransactionTimeoutSeconds: Int? = 30
    /// The longest the client waits for the answer to one statement before it drops the
    /// session (``PostgresConnection/query(_:parameters:)``). The server's
    /// `statement_timeout` (set per login, docs/operations.md) cancels slow statements
    /// cleanly; this bounds what the server cannot: a network partition, a frozen server
    /// host, a backend that stopped answering. `nil` waits as long as the operating
    /// system's TCP does (many minutes).
    public var statementDeadline: Duration? = .seconds(600)
    /// Overrides the database named in `connectionString` (e.g. a per-test database).
    public var database: String?
    /// Overrides the user named in `connectionString` (e.g. to act as another role).
    public var user: String?
    /// Overrides the password named in `connectionString` or `PGPASSWORD` (e.g. a login
    /// checked by the dashboard). Never shown.
    public var password: String?

    /// - Parameters:
    ///   - connectionString: a libpq URI or conninfo string; empty means `PG*` variables.
    ///   - applicationName: the `application_name` reported to the server.
    ///   - connectTimeoutSeconds: libpq's `connect_timeout`.
    public init(connectionString: String, applicationName: String = "taskforce", connectTimeoutSeconds: Int = 10) {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// Reads `DATABASE_URL`; when it is unset, libpq's `PG*` variables apply.
    public static func fromEnvironment(applicationName: String = "taskforce") -> PostgresConfiguration {
        let url = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""
        return PostgresConfiguration(connectionString: url, applicationName: applicationName)
    }

    /// The same server and credentials, another database.
    public func with(database: String) -> PostgresConfiguration {
        var copy = self
        copy.database = database
        return copy
    }

    /// The same server and database, another user.
    public func with(user: String) -> PostgresConfiguration {
        var copy = self
        copy.user = user
        return copy
    }

    /// The same server and database, another login with its password.
    public func with(user: String, password: String) -> PostgresConfiguration {
        var copy = self
        copy.user = user
        copy.password = password
        return copy
    }

    /// Whether libpq can parse ``connectionString``. Its own parse errors quote the
    /// offending fragment, which may be the password, so they are never shown; this
    /// check lets callers say what is wrong without them.
    public var connectionStringParses: Bool {
        // A bare word is a database name to libpq (`DATABASE_URL=mydb`), not a conninfo.
        guard !connectionString.isEmpty, connectionString.contains("=") || connectionString.contains("://") else { return true }
        var error: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(connectionString, &error)
        if let error { PQfreemem(error) }
        guard let options else { return false }
        PQconninfoFree(options)
        return true
    }

    /// Every secret this configuration may carry: the password of the connection string
    /// (as written and percent-decoded), the ``password`` override and `PGPASSWORD`.
    /// ``scrub(_:)`` removes them from any text.
    public var secrets: [String] {
        var found: [String] = []
        if let password { found.append(password) }
        if let environmentPassword = ProcessInfo.processInfo.environment["PGPASSWORD"] { found.append(environmentPassword) }
        // The URI's userinfo as written, even when libpq cannot parse it.
        if let schemeEnd = connectionString.range(of: "://") {
            let rest = connectionString[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                let raw = String(rest[rest.index(after: colon)..<at])
                found.append(raw)
                if let decoded = raw.removingPercentEncoding { found.append(decoded) }
            }
        }
        // What libpq itself reads as the password (conninfo `password=`, URI query).
        if !connectionString.isEmpty {
            var error: UnsafeMutablePointer<CChar>?
            if let options = PQconninfoParse(connectionString, &error) {
                var option = options
                while let keyword = option.pointee.keyword {
                    if String(cString: keyword) == "password", let value = option.pointee.val { found.append(String(cString: value)) }
                    option += 1
                }
                PQconninfoFree(options)
            }
            if let error { PQfreemem(error) }
        }
        // Very short strings would mask ordinary words; such passwords are not worth hiding behind.
        return Array(Set(found.filter { $0.count >= 3 })).sorted { $0.count > $1.count }
    }

    /// `text` with every password in it masked: ``redact(_:)`` plus every one of
    /// ``secrets`` replaced literally by `***`. Use it on anything a handler, libpq or
    /// the server wrote before it is logged or stored.
    public func scrub(_ text: String) -> String {
        var out = Self.redact(text)
        for secret in secrets { out = out.replacingOccurrences(of: secret, with: "***") }
        return out
    }

    /// The connection string with any password replaced by `***`.
    public var redacted: String { Self.redact(connectionString) }

    /// Masks passwords in a URI (`user:secret@`, `?password=secret`) or a conninfo
    /// string (`password=secret`, `password='se cret'`).
    public static func redact(_ text: String) -> String {
        var out = text
        // URI userinfo: scheme://user:password@host
        if let schemeEnd = out.range(of: "://") {
            let rest = out[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"),
               let colon = rest[..<at].firstIndex(of: ":") {
                out.replaceSubrange(out.index(after: colon)..<at, with: "***")
            }
        }
        // password=... in conninfo or URI query.
        var result = ""
        var index = out.startIndex
        while let match = out[index...].range(of: "password=", options: .caseInsensitive) {
            result += out[index..<match.upperBound]
            var end = match.upperBound
            if end < out.endIndex, out[end] == "'" {
                end = out.index(after: end)
                while end < out.endIndex, out[end] != "'" {
                    if out[end] == "\\" { end = out.index(after: end); if end == out.endIndex { break } }
                    end = out.index(after: end)
                }
                if end < out.endIndex { end = out.index(after: end) }
            } else {
                while end < out.endIndex, out[end] != " ", out[end] != "&" { end = out.index(after: end) }
            }
            result += "***"
            index = end
        }
        result += out[index...]
        return result
    }
}
