/// A named SQL statement kept in a target's `SQL/*.sql` file, as the build embeds it.
///
/// The catalogue of each target (`QueueCoreSQL.statements`, …) lists them so a test can
/// `PREPARE` every statement against the migrated schema and check with `EXPLAIN` that
/// it uses the indexes its `-- index:` line names.
public struct SQLStatement: Sendable {
    /// The file it comes from, e.g. `JobQueries.sql`.
    public let file: String
    /// The line of its `-- name:` header.
    public let line: Int
    /// Its name, also the name of the Swift constant holding it.
    public let name: String
    /// The indexes that serve it, as its `-- index:` line names them (empty for none).
    public let indexes: [String]
    /// The SQL text, with `$n` placeholders.
    public let text: String

    public init(file: String, line: Int, name: String, indexes: [String], text: String) {
        self.file = file
        self.line = line
        self.name = name
        self.indexes = indexes
        self.text = text
    }

    /// Whether PostgreSQL can `PREPARE` it (`COPY` and `VACUUM` cannot be prepared).
    public var isPreparable: Bool {
        let keyword = text.drop(while: { $0.isWhitespace }).prefix(while: { $0.isLetter }).uppercased()
        return keyword != "COPY" && keyword != "VACUUM"
    }
}
