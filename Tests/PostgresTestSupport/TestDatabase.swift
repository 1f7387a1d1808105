import Foundation
import PostgresClient
import Schema

/// Databases for tests on the private PostgreSQL that `scripts/test` starts.
///
/// Every suite calls ``create(_:)`` and gets a database of its own, cloned from a
/// template that holds the current migrations, so suites run in parallel without
/// seeing each other's rows.
package enum TestDatabase {
    /// The server the tests use: `DATABASE_URL`, or libpq's `PG*` variables.
    package static var server: PostgresConfiguration {
        .fromEnvironment(applicationName: "tests")
    }

    /// Creates a fresh, migrated database and returns how to reach it.
    /// - Parameter label: a short name for the suite; it appears in the database name.
    package static func create(_ label: String) async throws -> PostgresConfiguration {
        let admin = try await PostgresConnection.connect(server)
        defer { Task { await admin.close() } }
        let template = try await ensureTemplate(admin)
        let safeLabel = String(label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(30))
        let name = "t_\(safeLabel)_\(UInt32.random(in: 0...UInt32.max))"
        try await admin.executeScript("CREATE DATABASE \(quoted(name)) TEMPLATE \(quoted(template))")
        // A database's own privileges are not copied from its template: repeat what
        // migration 0008 does to a migrated database, so tests see what deployments see.
        try await admin.executeScript("REVOKE TEMPORARY ON DATABASE \(quoted(name)) FROM PUBLIC")
        return server.with(database: name)
    }

    /// Creates a login (cluster-wide, so its name is random) with a random password,
    /// member of the given group roles, and returns how to connect to `database` as it.
    /// The private cluster trusts only the superuser; every other login authenticates
    /// with its password (SCRAM), as in a deployment.
    /// - Parameters:
    ///   - roles: group roles, e.g. `taskforce_worker_tax`.
    ///   - database: the database the login will use.
    package static func login(_ roles: [String], on database: PostgresConfiguration) async throws -> Login {
        let admin = try await PostgresConnection.connect(server)
        defer { Task { await admin.close() } }
        let name = "login_\(UInt32.random(in: 0...UInt32.max))"
        let password = (0..<24).map { _ in String("abcdefghijklmnopqrstuvwxyz0123456789".randomElement()!) }.joined()
        let verifier = try await admin.encryptPassword(password, user: name)
        let grants = roles.isEmpty ? "" : " IN ROLE " + roles.map(quoted).joined(separator: ", ")
        try await admin.executeScript("CREATE ROLE \(quoted(name)) LOGIN PASSWORD \(try await admin.escapeLiteral(verifier))\(grants)")
        // As `dispatcher roles login` does: the group's timeouts, in this database.
        let target = try await PostgresConnection.connect(database)
        defer { Task { await target.close() } }
        try await target.query("""
            SELECT public.apply_login_settings($1) WHERE to_regprocedure('public.apply_login_settings(name)') IS NOT NULL
            """, name)
        return Login(name: name, password: password, configuration: database.with(user: name, password: password))
    }

    /// A login made by ``login(_:on:)``.
    package struct Login: Sendable {
        package let name: String
        package let password: String
        /// The database, as this login.
        package let configuration: PostgresConfiguration

        /// A libpq URI for this login and database (for child processes).
        package var url: String {
            let server = TestDatabase.server.connectionString
            var query = ""
            if let start = server.firstIndex(of: "?") { query = String(server[start...]) }
            // Keep the host/port settings of the server's URI, drop its user.
            let kept = query.dropFirst().split(separator: "&").filter { !$0.hasPrefix("user=") && !$0.hasPrefix("password=") }
            let database = configuration.database ?? "postgres"
            // The URI's host[:port], without any user of its own.
            var host = ""
            if let schemeEnd = server.range(of: "://") {
                let rest = server[schemeEnd.upperBound...]
                let authority = rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex)]
                host = String(authority.split(separator: "@", omittingEmptySubsequences: false).last ?? "")
            }
            return "postgresql://\(name):\(password)@\(host)/\(database)" + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        }
    }

    /// Creates an empty database (no migrations) for tests of the migration runner.
    package static func createEmpty(_ label: String) async throws -> PostgresConfiguration {
        let admin = try await PostgresConnection.connect(server)
        defer { Task { await admin.close() } }
        let name = "e_\(label.lowercased().prefix(30))_\(UInt32.random(in: 0...UInt32.max))"
        try await admin.executeScript("CREATE DATABASE \(quoted(name))")
        return server.with(database: name)
    }

    /// The template's name changes whenever a migration changes, so a stale one is never used.
    private static func ensureTemplate(_ admin: PostgresConnection) async throws -> String {
        let migrations = try Schema.migrations()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in migrations.map({ $0.name + "\u{0}" + $0.sql }).joined().utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let name = "tmpl_\(String(hash, radix: 16))"
        try await admin.query("SELECT pg_advisory_lock($1)", Int64(0x7465_7374_746d_706c))
        defer { Task { _ = try? await admin.query("SELECT pg_advisory_unlock($1)", Int64(0x7465_7374_746d_706c)) } }
        let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if !exists.isEmpty { return name }
        let building = name + "_building"
        try await admin.executeScript("DROP DATABASE IF EXISTS \(quoted(building))")
        try await admin.executeScript("CREATE DATABASE \(quoted(building))")
        let connection = try await PostgresConnection.connect(server.with(database: building))
        try await Schema.runner().apply(on: connection)
        await connection.close()
        // The closed session's backend may take a moment to exit; RENAME does not wait for it.
        for attempt in 1...100 {
            do {
                try await admin.executeScript("ALTER DATABASE \(quoted(building)) RENAME TO \(quoted(name))")
                return name
            } catch let error as PostgresError where error.sqlState == "55006" && attempt < 100 {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return name
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
