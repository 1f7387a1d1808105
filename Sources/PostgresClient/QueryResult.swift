/// The rows a statement returned, copied out of libpq so they can cross tasks.
public struct QueryResult: Sendable, Sequence {
    /// Column names in order.
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows inserted, updated or deleted (the command tag's count); 0 when none.
    public let affectedRows: Int

    public func makeIterator() -> IndexingIterator<[PostgresRow]> { rows.makeIterator() }
    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }
    public var first: PostgresRow? { rows.first }

    /// The first row of a statement that always returns one (an aggregate, a function
    /// call); a `decoding` error, never a crash, when it returned none.
    public func firstRow() throws -> PostgresRow {
        guard let row = rows.first else {
            throw PostgresError(code: .decoding, message: "the statement returned no row where one was expected")
        }
        return row
    }
}

/// Maps column names to indexes; shared by every row of one result.
final class ColumnIndex: Sendable {
    let names: [String]
    let positions: [String: Int]
    init(names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
        self.positions = positions
    }
}

/// One result row. Values are PostgreSQL's text output, decoded on demand.
public struct PostgresRow: Sendable {
    let values: [String?]
    let columnIndex: ColumnIndex

    /// The raw text of a column, or `nil` for NULL.
    public func text(_ column: Int) -> String? { values[column] }

    /// Whether the column is SQL NULL.
    public func isNull(_ column: String) throws -> Bool { values[try position(of: column)] == nil }

    /// Decodes a non-NULL column; throws when it is NULL or does not parse.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard column >= 0, column < values.count else {
            throw PostgresError(code: .decoding, message: "no column \(column); the row has \(values.count)")
        }
        guard let text = values[column] else {
            throw PostgresError(code: .decoding, message: "column \(columnIndex.names[column]) is NULL; decode it as \(T.self)?")
        }
        do {
            return try T(postgresText: text)
        } catch let error as PostgresError {
            throw PostgresError(code: .decoding, message: "column \(columnIndex.names[column]): \(error.message)")
        }
    }

    /// Decodes a column that may be NULL.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T?.Type = T?.self) throws -> T? {
        guard column >= 0, column < values.count else {
            throw PostgresError(code: .decoding, message: "no column \(column); the row has \(values.count)")
        }
        guard values[column] != nil else { return nil }
        return try decode(column, as: T.self)
    }

    /// Decodes a non-NULL column by name.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(try position(of: column), as: T.self)
    }

    /// Decodes a column that may be NULL, by name.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T?.Type = T?.self) throws -> T? {
        try decode(try position(of: column), as: T?.self)
    }

    func position(of column: String) throws -> Int {
        guard let index = columnIndex.positions[column] else {
            throw PostgresError(code: .decoding, message: "no column named \(column); columns are \(columnIndex.names.joined(separator: ", "))")
        }
        return index
    }
}
