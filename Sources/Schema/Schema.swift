import PostgresClient

/// The project's database schema: the files of `migrations/`, embedded at build time.
public enum Schema {
    /// Every migration carried by this binary, in version order.
    public static func migrations() throws -> [Migration] {
        try embeddedFiles.map { try Migration(fileName: $0.name, sql: $0.content) }
            .sorted { $0.version < $1.version }
    }

    /// A runner over ``migrations()``.
    public static func runner() throws -> MigrationRunner {
        try MigrationRunner(migrations: migrations())
    }
}
