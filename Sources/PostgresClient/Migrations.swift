import Foundation

/// One numbered schema change, from a file such as `0003_add_cases.sql`.
public struct Migration: Sendable, Equatable {
    /// The number the file name starts with; migrations apply in this order.
    public let version: Int
    /// The file name, e.g. `0003_add_cases.sql`.
    public let name: String
    public let sql: String

    /// - Throws: when the file name does not start with a number followed by `_`.
    public init(fileName: String, sql: String) throws {
        let digits = fileName.prefix(while: \.isNumber)
        guard !digits.isEmpty, let version = Int(digits), fileName.dropFirst(digits.count).first == "_" else {
            throw PostgresError(code: .invalidArgument, message: "migration file \(fileName) must be named NNNN_description.sql")
        }
        self.version = version
        self.name = fileName
        self.sql = sql
    }
}

/// What the database says about one migration.
public struct MigrationStatus: Sendable {
    public let migration: Migration
    /// When it was applied, or `nil` while pending.
    public let appliedAt: Date?
}

/// Applies migrations in order, once each, under an advisory lock.
///
/// Every file runs in its own transaction and is recorded in `schema_migrations` with
/// a SHA-256 checksum (computed by the server). A file that was applied and has since
/// changed is refused: write a new migration instead of editing an old one.
public struct MigrationRunner: Sendable {
    public let migrations: [Migration]
    /// Key of the session advisory lock that serialises concurrent runs.
    public static let advisoryLockKey: Int64 = 0x7461_736B_666F_7263 // "taskforc"

    /// - Throws: when two migrations share a version number.
    public init(migrations: [Migration]) throws {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw PostgresError(code: .invalidArgument, message: "migrations \(previous.name) and \(next.name) share version \(next.version)")
        }
        self.migrations = sorted
    }

    /// Applies every pending migration.
    /// - Returns: the migrations applied by this call (empty when already up to date).
    @discardableResult
    public func apply(on connection: PostgresConnection) async throws -> [Migration] {
        try await connection.query("SELECT pg_advisory_lock($1)", Self.advisoryLockKey)
        do {
            let applied = try await appliedVersions(on: connection, createTable: true)
            try verifyChecksums(applied: applied, connection: connection)
            var done: [Migration] = []
            for migration in migrations where applied[migration.version] == nil {
                try await applyRetryingClusterRaces(migration, on: connection)
                done.append(migration)
            }
            try await connection.query("SELECT pg_advisory_unlock($1)", Self.advisoryLockKey)
            return done
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock($1)", Self.advisoryLockKey)
            throw error
        }
    }

    /// Runs one migration in its own transaction. Roles and their memberships are
    /// cluster-wide while the advisory lock serialises one database only, so databases of
    /// one cluster migrating at once can collide on `CREATE ROLE`/`GRANT` (a duplicate key
    /// in `pg_authid`, "tuple concurrently updated"). The transaction then rolled back
    /// whole, and the file (written to skip roles that exist) is simply run again.
    private func applyRetryingClusterRaces(_ migration: Migration, on connection: PostgresConnection) async throws {
        /// The server's own error, before the runner names the file in it.
        struct ClusterRace: Error { let wrapped: PostgresError }
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await connection.transaction { connection in
                    do {
                        try await connection.executeScript(migration.sql)
                    } catch let error as PostgresError {
                        let wrapped = PostgresError(
                            code: error.code,
                            message: "migration \(migration.name) failed\(Self.lineSuffix(error, in: migration.sql)): \(error.message)",
                            sqlState: error.sqlState, detail: error.detail, hint: error.hint)
                        throw Self.isClusterCatalogRace(error) ? ClusterRace(wrapped: wrapped) : wrapped
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))",
                        migration.version, migration.name, migration.sql)
                }
                return
            } catch let race as ClusterRace {
                guard attempt < 20 else { throw race.wrapped }
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...200)))
            }
        }
    }

    /// Whether an error is a collision with another database's migration on the
    /// cluster-wide role catalogs (safe to retry: the failed file left nothing behind).
    static func isClusterCatalogRace(_ error: PostgresError) -> Bool {
        switch error.sqlState {
        case "23505": return error.message.contains("pg_auth")          // pg_authid, pg_auth_members
        case "42710": return error.message.contains("role")             // duplicate_object: role … already exists
        case "XX000": return error.message.contains("concurrently")      // tuple concurrently updated/deleted
        case "40P01", "40001": return true                              // deadlock, serialization failure
        default: return false
        }
    }

    /// Lists every known migration with when it was applied (`nil` = pending).
    /// - Throws: when an applied migration's file has changed since.
    public func status(on connection: PostgresConnection) async throws -> [MigrationStatus] {
        let applied = try await appliedVersions(on: connection, createTable: false)
        try verifyChecksums(applied: applied, connection: connection)
        return migrations.map { MigrationStatus(migration: $0, appliedAt: applied[$0.version]?.appliedAt) }
    }

    private struct AppliedRow { let name: String; let checksum: String; let appliedAt: Date; let expected: String }

    private func appliedVersions(on connection: PostgresConnection, createTable: Bool) async throws -> [Int: AppliedRow] {
        if createTable {
            try await connection.executeScript("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
        } else {
            let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if try exists.rows[0].decode(0, as: Bool.self) == false { return [:] }
        }
        // The expected checksum of each known file is computed by the same server function.
        let versions = migrations.map(\.version)
        let texts = migrations.map(\.sql)
        let rows = try await connection.query("""
            SELECT m.version, m.name, m.checksum, m.applied_at,
                   coalesce(encode(sha256(convert_to(f.sql, 'UTF8')), 'hex'), '') AS expected
            FROM schema_migrations m
            LEFT JOIN unnest($1::int[], $2::text[]) AS f(version, sql) ON f.version = m.version
            ORDER BY m.version
            """, versions, texts)
        var applied: [Int: AppliedRow] = [:]
        for row in rows {
            applied[try row.decode(0)] = AppliedRow(
                name: try row.decode(1), checksum: try row.decode(2),
                appliedAt: try row.decode(3), expected: try row.decode(4))
        }
        return applied
    }

    private func verifyChecksums(applied: [Int: AppliedRow], connection: PostgresConnection) throws {
        for (version, row) in applied.sorted(by: { $0.key < $1.key }) {
            if row.expected.isEmpty { continue } // applied by a newer build; leave it alone
            if row.expected != row.checksum {
                throw PostgresError(
                    code: .invalidArgument,
                    message: "migration \(row.name) (version \(version)) was applied on \(row.appliedAt) but its file has changed since. "
                        + "Applied migrations must not be edited: restore the file and put the change in a new migration.")
            }
        }
    }

    static func lineSuffix(_ error: PostgresError, in sql: String) -> String {
        guard let position = error.position, position > 0 else { return "" }
        let prefix = sql.prefix(position)
        let line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        return " at line \(line)"
    }
}
