import CaseLedger
import CaseWorker
import Console
import Dashboard
import Foundation
import PostgresClient
import PostgresTestSupport
import QueueCore
import Testing

/// The SQL kept in the targets' `SQL/*.sql` files is checked against the migrated schema,
/// so a typo or a dropped column fails here rather than in a worker at 3 a.m., and each
/// statement's `-- index:` line is a checked fact, not a comment.
@Suite("Named SQL statements")
struct StatementCatalogueTests {
    static let statements = QueueCoreSQL.statements + CaseLedgerSQL.statements + CaseWorkerSQL.statements + DashboardSQL.statements + ConsoleSQL.statements

    /// Where a statement comes from, for failure messages.
    static func origin(_ statement: SQLStatement) -> String { "\(statement.file):\(statement.line) `\(statement.name)`" }

    /// Prepares `statement` as `name` and returns how many parameters it takes.
    static func prepare(_ statement: SQLStatement, as name: String, on connection: PostgresConnection) async throws -> Int {
        try await connection.query("PREPARE \(name) AS \(statement.text)")
        return try await connection.query(
            "SELECT coalesce(cardinality(parameter_types), 0) FROM pg_prepared_statements WHERE name = $1", name
        ).firstRow().decode(0, as: Int.self)
    }

    @Test("every target has named statements, and no name is used twice in a file")
    func catalogueIsComplete() {
        for catalogue in [QueueCoreSQL.statements, CaseLedgerSQL.statements, CaseWorkerSQL.statements, DashboardSQL.statements, ConsoleSQL.statements] {
            #expect(!catalogue.isEmpty)
        }
        var seen: Set<String> = []
        for statement in Self.statements {
            #expect(seen.insert("\(statement.file)/\(statement.name)").inserted, "\(Self.origin(statement)) is named twice")
        }
        #expect(Self.statements.contains { $0.name == "claim" && $0.indexes == ["queue_jobs_claim"] })
        #expect(Self.statements.contains { $0.name == "complete" && $0.indexes == ["queue_jobs_running"] })
    }

    @Test("every statement prepares against the migrated schema, and every index it names exists")
    func everyStatementPrepares() async throws {
        let connection = try await PostgresConnection.connect(try await TestDatabase.create("statements"))
        defer { Task { await connection.close() } }
        let indexes = Set(try await connection.query("SELECT indexname FROM pg_indexes WHERE schemaname IN ('public', 'dashboard')")
            .map { try $0.decode(0, as: String.self) })
        for (number, statement) in Self.statements.enumerated() {
            for index in statement.indexes {
                #expect(indexes.contains(index), "\(Self.origin(statement)) names index \(index), which the schema does not have")
            }
            guard statement.isPreparable else { continue }
            do {
                _ = try await Self.prepare(statement, as: "s\(number)", on: connection)
            } catch {
                Issue.record("\(Self.origin(statement)) does not prepare: \(error)")
            }
        }
    }

    @Test("the statements that name indexes use them (generic plan, sequential scans off)")
    func namedIndexesAreUsed() async throws {
        let connection = try await PostgresConnection.connect(try await TestDatabase.create("statement_plans"))
        defer { Task { await connection.close() } }
        // The generic plan is the one a prepared statement runs with for any parameters;
        // with sequential scans priced out, an index that can serve the statement is used.
        try await connection.query("SET plan_cache_mode = force_generic_plan")
        try await connection.query("SET enable_seqscan = off")
        var checked: [String] = []
        for (number, statement) in Self.statements.enumerated() where !statement.indexes.isEmpty && statement.isPreparable {
            let name = "p\(number)"
            // On these empty tables a bitmap scan of any partial index whose predicate an
            // ordered read implies, plus a sort of its (estimated) one row, costs the same as
            // the index range read in the statement's order; with data it never wins. For
            // ordered reads (ORDER BY … LIMIT) bitmap scans are priced out too, so the plan
            // shows the read the statement gets in production.
            let ordered = statement.text.contains("ORDER BY") && statement.text.contains("LIMIT")
            try await connection.query(ordered ? "SET enable_bitmapscan = off" : "SET enable_bitmapscan = on")
            let parameters = try await Self.prepare(statement, as: name, on: connection)
            let arguments = parameters == 0 ? "" : "(" + Array(repeating: "NULL", count: parameters).joined(separator: ", ") + ")"
            let plan = try await connection.query("EXPLAIN EXECUTE \(name)\(arguments)")
                .map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
            for index in statement.indexes {
                #expect(plan.contains(index), "\(Self.origin(statement)) names \(index), but its plan is:\n\(plan)")
            }
            checked.append(statement.name)
        }
        #expect(checked.contains("claim"))
        #expect(checked.contains("complete"))
        #expect(checked.contains("extendLeases"))
    }
}
