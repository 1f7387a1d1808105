import Foundation
import PostgresClient
import PostgresTestSupport
import Schema
import Testing

@Suite("Migrations")
struct MigrationTests {
    static func sample() throws -> [Migration] {
        [
            try Migration(fileName: "0001_things.sql", sql: "CREATE TABLE things (id int PRIMARY KEY);"),
            try Migration(fileName: "0002_more.sql", sql: "ALTER TABLE things ADD COLUMN name text; CREATE INDEX ON things (name);"),
        ]
    }

    @Test("the project's own migrations apply to an empty database")
    func projectMigrationsApply() async throws {
        let connection = try await PostgresConnection.connect(try await TestDatabase.createEmpty("project"))
        defer { Task { await connection.close() } }
        let runner = try Schema.runner()
        let applied = try await runner.apply(on: connection)
        #expect(applied.count == runner.migrations.count)
        #expect(!applied.isEmpty)
    }

    @Test("applying twice is a no-op")
    func applyTwice() async throws {
        let connection = try await PostgresConnection.connect(try await TestDatabase.createEmpty("twice"))
        defer { Task { await connection.close() } }
        let runner = try MigrationRunner(migrations: Self.sample())
        #expect(try await runner.apply(on: connection).map(\.version) == [1, 2])
        #expect(try await runner.apply(on: connection).isEmpty)
        let status = try await runner.status(on: connection)
        #expect(status.allSatisfy { $0.appliedAt != nil })
    }

    @Test("status lists pending migrations before they are applied")
    func statusPending() async throws {
        let connection = try await PostgresConnection.connect(try await TestDatabase.createEmpty("status"))
        defer { Task { await connection.close() } }
        let runner = try MigrationRunner(migrations: Self.sample())
        #expect(try await runner.status(on: connection).allSatisfy { $0.appliedAt == nil })
        try await MigrationRunner(migrations: [Self.sample()[0]]).apply(on: connection)
        let status = try await runner.status(on: connection)
        #expect(status.map { $0.appliedAt != nil } == [true, false])
    }

    @Test("an applied migration whose file changed is refused with a clear message")
    func changedMigrationRefused() async throws {
        let connection = try await PostgresConnection.connect(try await TestDatabase.createEmpty("changed"))
        defer { Task { await connection.close() } }
        try await MigrationRunner(migrations: Self.sample()).apply(on: connection)
        var edited = try Self.sample()
        edited[0] = try Migration(fileName: "0001_things.sql", sql: "CREATE TABLE things (id bigint PRIMARY KEY);")
        edited.append(try Migration(fileName: "0003_new.sql", sql: "CREATE TABLE later (id int);"))
        let error = await #expect(throws: PostgresError.self) {
            try await MigrationRunner(migrations: edited).apply(on: connection)
        }
        #expect(error?.message.contains("0001_things.sql") == true)
        #expect(error?.message.contains("changed") == true)
        // Nothing after the refusal was applied.
        #expect(try await connection.query("SELECT to_regclass('later') IS NULL").first?.decode(0, as: Bool.self) == true)
    }

    @Test("a failing migration names its file and line and leaves no trace")
    func failingMigration() async throws {
        let connection = try await PostgresConnection.connect(try await TestDatabase.createEmpty("failing"))
        defer { Task { await connection.close() } }
        let broken = try Migration(fileName: "0001_broken.sql", sql: "CREATE TABLE ok (id int);\nCREATE TABLE bad (id nosuchtype);")
        let error = await #expect(throws: PostgresError.self) {
            try await MigrationRunner(migrations: [broken]).apply(on: connection)
        }
        #expect(error?.message.contains("0001_broken.sql") == true)
        #expect(error?.message.contains("line 2") == true)
        #expect(try await connection.query("SELECT to_regclass('ok') IS NULL").first?.decode(0, as: Bool.self) == true)
    }

    @Test("two concurrent runs do not both apply")
    func concurrentRuns() async throws {
        let database = try await TestDatabase.createEmpty("concurrent")
        let slow = try Migration(fileName: "0001_slow.sql", sql: "SELECT pg_sleep(0.3); CREATE TABLE once (id int);")
        let runner = try MigrationRunner(migrations: [slow])
        async let first = Self.applyFresh(runner, database)
        async let second = Self.applyFresh(runner, database)
        let counts = try await [first, second]
        #expect(counts.sorted() == [0, 1])
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        #expect(try await connection.query("SELECT count(*) FROM schema_migrations").first?.decode(0, as: Int.self) == 1)
    }

    static func applyFresh(_ runner: MigrationRunner, _ database: PostgresConfiguration) async throws -> Int {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        return try await runner.apply(on: connection).count
    }

    @Test("eight databases of one cluster migrating at once, five rounds, never collide on cluster-wide roles")
    func parallelDatabasesShareRoles() async throws {
        for round in 1...5 {
            // Roles are cluster-wide while each database's advisory lock is its own: every
            // runner sees the role missing and creates it, as migration 0007 does.
            let tag = "race_\(UInt32.random(in: 0...UInt32.max))_\(round)"
            let roles = try Migration(fileName: "0001_roles.sql", sql: """
                DO $$
                DECLARE name text;
                BEGIN
                    FOREACH name IN ARRAY ARRAY['\(tag)_a', '\(tag)_b', '\(tag)_c'] LOOP
                        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
                            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
                        END IF;
                    END LOOP;
                END;
                $$;
                GRANT \(tag)_a TO \(tag)_b;
                CREATE TABLE things (id int);
                GRANT SELECT ON things TO \(tag)_c;
                """)
            let runner = try MigrationRunner(migrations: [roles])
            var databases: [PostgresConfiguration] = []
            for n in 0..<8 { databases.append(try await TestDatabase.createEmpty("race\(n)")) }
            let applied = try await withThrowingTaskGroup(of: Int.self) { group in
                for database in databases { group.addTask { try await Self.applyFresh(runner, database) } }
                return try await group.reduce(0, +)
            }
            #expect(applied == 8, "round \(round)")
        }
    }

    @Test("the project's own migrations apply to eight empty databases at once")
    func parallelProjectMigrations() async throws {
        var databases: [PostgresConfiguration] = []
        for n in 0..<8 { databases.append(try await TestDatabase.createEmpty("proj\(n)")) }
        let runner = try Schema.runner()
        let applied = try await withThrowingTaskGroup(of: Int.self) { group in
            for database in databases { group.addTask { try await Self.applyFresh(runner, database) } }
            return try await group.reduce(0, +)
        }
        #expect(applied == 8 * runner.migrations.count)
    }

    @Test("file names without a version number are rejected")
    func badFileName() {
        #expect(throws: PostgresError.self) { try Migration(fileName: "create_things.sql", sql: "") }
        #expect(throws: PostgresError.self) {
            try MigrationRunner(migrations: [
                try Migration(fileName: "0001_a.sql", sql: ""), try Migration(fileName: "0001_b.sql", sql: ""),
            ])
        }
    }
}
