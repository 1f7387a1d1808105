import PostgresClient

/// The project's database schema: the files of `migrations/`, embedded at build time.
package enum Schema {
    /// Every migration carried by this binary, in version order.
    package static func migrations() throws -> [Migration] {
        try embeddedFiles.map { try Migration(fileName: $0.name, sql: $0.content) }
            .sorted { $0.version < $1.version }
    }

    /// A runner over ``migrations()``.
    package static func runner() throws -> MigrationRunner {
        try MigrationRunner(migrations: migrations())
    }
}
