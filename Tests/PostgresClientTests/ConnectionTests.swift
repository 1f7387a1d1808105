import Foundation
import PostgresClient
import PostgresTestSupport
import Testing

@Suite("Connections, transactions and errors")
struct ConnectionTests {
    let database: PostgresConfiguration

    init() async throws {
        database = try await TestDatabase.create("connection")
        let connection = try await PostgresConnection.connect(database)
        try await connection.executeScript("CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL)")
        await connection.close()
    }

    @Test("a thrown error inside transaction rolls everything back")
    func rollbackOnThrow() async throws {
        struct Boom: Error {}
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        await #expect(throws: Boom.self) {
            try await connection.transaction { tx in
                try await tx.query("INSERT INTO things VALUES ($1, $2)", 1, "kept?")
                throw Boom()
            }
        }
        #expect(try await connection.query("SELECT count(*) FROM things WHERE id = 1").first?.decode(0, as: Int.self) == 0)
        try await connection.transaction { tx in
            try await tx.query("INSERT INTO things VALUES ($1, $2)", 1, "committed")
        }
        #expect(try await connection.query("SELECT name FROM things WHERE id = 1").first?.decode(0, as: String.self) == "committed")
    }

    @Test("a session left idle inside a transaction (a client cut off mid-transaction) is ended by the server and its locks released")
    func idleTransactionIsEnded() async throws {
        let setup = try await PostgresConnection.connect(database)
        try await setup.query("INSERT INTO things VALUES (77, 'locked')")
        await setup.close()
        var stuck = database
        stuck.idleInTransactionTimeoutSeconds = 1
        let holder = try await PostgresConnection.connect(stuck)
        defer { Task { await holder.close() } }
        let other = try await PostgresConnection.connect(database)
        defer { Task { await other.close() } }
        // The holder locks the row and then goes quiet, as a partitioned worker would.
        let held = Task {
            try await holder.transaction { tx in
                try await tx.query("SELECT * FROM things WHERE id = 77 FOR UPDATE")
                try await Task.sleep(for: .seconds(8))
                try await tx.query("SELECT 1")
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        // Without the timeout the lock is held for the holder's 8 s and this gives up at 5 s.
        try await other.query("SET lock_timeout = '5s'")
        #expect(try await other.query("UPDATE things SET name = 'free' WHERE id = 77").affectedRows == 1)
        await #expect(throws: (any Error).self) { try await held.value }
    }

    @Test("a unique violation carries SQLSTATE 23505 and the constraint name")
    func uniqueViolation() async throws {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        try await connection.query("INSERT INTO things VALUES ($1, $2)", 2, "first")
        let error = await #expect(throws: PostgresError.self) {
            try await connection.query("INSERT INTO things VALUES ($1, $2)", 2, "second")
        }
        #expect(error?.isUniqueViolation == true)
        #expect(error?.sqlState == "23505")
        #expect(error?.constraint == "things_pkey")
        #expect(error?.isConnectionError == false)
    }

    @Test("a syntax error is told apart from other failures")
    func syntaxError() async throws {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        let error = await #expect(throws: PostgresError.self) { try await connection.query("SELEC 1") }
        #expect(error?.isSyntaxError == true)
        #expect(error?.code == .server)
    }

    @Test("a swallowed error inside a transaction makes COMMIT throw instead of pretending")
    func swallowedErrorFailsCommit() async throws {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        await #expect(throws: PostgresError.self) {
            try await connection.transaction { tx in
                try await tx.query("INSERT INTO things VALUES ($1, $2)", 3, "lost")
                _ = try? await tx.query("INSERT INTO things VALUES ($1, $2)", 3, "duplicate")
            }
        }
        #expect(try await connection.query("SELECT count(*) FROM things WHERE id = 3").first?.decode(0, as: Int.self) == 0)
    }

    @Test("after pg_terminate_backend the next query reconnects and succeeds")
    func reconnectAfterTermination() async throws {
        let connection = try await PostgresConnection.connect(database)
        let killer = try await PostgresConnection.connect(database)
        defer { Task { await connection.close(); await killer.close() } }
        let pid = await connection.backendPID
        try await killer.query("SELECT pg_terminate_backend($1)", pid)
        // Wait until the backend has really gone.
        for _ in 0..<100 {
            let alive = try await killer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid)
            if alive.isEmpty { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let value = try await connection.query("SELECT 7").first?.decode(0, as: Int.self)
        #expect(value == 7)
        #expect(await connection.backendPID != pid)
        #expect(await connection.reconnectCount == 1)
    }

    @Test("a failed connection names host, port and database but never the password")
    func connectionFailureIsClearAndSecret() async throws {
        let configuration = PostgresConfiguration(
            connectionString: "postgresql://someone:TopSecret42@127.0.0.1:1/nowhere", connectTimeoutSeconds: 2)
        let error = await #expect(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(configuration)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(error?.code == .connectionFailed)
        #expect(error?.isConnectionError == true)
        #expect(text.contains("127.0.0.1"))
        #expect(text.contains("port 1"))
        #expect(text.contains("nowhere"))
        #expect(!text.contains("TopSecret42"))
        #expect(!configuration.redacted.contains("TopSecret42"))
    }

    @Test("a connection string libpq cannot parse is reported without libpq's own words, which quote the password")
    func unparsableConnectionStringIsSecret() async throws {
        // libpq says `invalid percent-encoded token: "s3cr%tP4ss"` and `missing "=" after "cret"`.
        for url in ["postgresql://u:s3cr%tP4ss@localhost/x", "host=localhost password=se cret dbname=x"] {
            let configuration = PostgresConfiguration(connectionString: url, connectTimeoutSeconds: 2)
            #expect(!configuration.connectionStringParses)
            let error = await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(configuration) }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("cannot be parsed"))
            for fragment in ["s3cr", "tP4ss", "cret"] { #expect(!text.contains(fragment), "\(url) leaked \(fragment)") }
        }
    }

    @Test("scrub masks every password a configuration carries, wherever it appears in a text")
    func scrubbing() {
        var configuration = PostgresConfiguration(connectionString: "postgresql://u:p%40ss-w0rd@h/db")
        #expect(configuration.scrub("auth failed for p@ss-w0rd and p%40ss-w0rd") == "auth failed for *** and ***")
        configuration = PostgresConfiguration(connectionString: "host=h password='s3cret value' dbname=d")
        #expect(configuration.scrub("DATABASE_URL=host=h password='s3cret value' dbname=d; echo s3cret value")
                    == "DATABASE_URL=host=h password=*** dbname=d; echo ***")
        configuration = configuration.with(user: "x", password: "another-one")
        #expect(configuration.scrub("it was another-one") == "it was ***")
    }

    @Test("passwords are masked in URIs and conninfo strings")
    func redaction() {
        #expect(PostgresConfiguration.redact("postgresql://u:pa:ss@h:5432/db") == "postgresql://u:***@h:5432/db")
        #expect(PostgresConfiguration.redact("host=h password=secret dbname=d") == "host=h password=*** dbname=d")
        #expect(PostgresConfiguration.redact("host=h password='se cret' dbname=d") == "host=h password=*** dbname=d")
        #expect(PostgresConfiguration.redact("postgresql:///db?user=u&password=x&host=/tmp") == "postgresql:///db?user=u&password=***&host=/tmp")
        #expect(PostgresConfiguration.redact("postgresql://u@h/db") == "postgresql://u@h/db")
    }

    @Test("COPY FROM STDIN loads 10,000 rows with awkward characters intact")
    func copyTenThousand() async throws {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        try await connection.executeScript("CREATE TABLE copied (n int, label text, note text)")
        let rows: [[String?]] = (0..<10_000).map { n in
            [String(n), "行\(n)\ttab\\slash\nnewline", n % 10 == 0 ? nil : "note"]
        }
        let loaded = try await connection.copyFrom("COPY copied (n, label, note) FROM STDIN", rows: rows)
        #expect(loaded == 10_000)
        let summary = try #require(try await connection.query(
            "SELECT count(*), count(note), max(n) FROM copied").first)
        #expect(try summary.decode(0, as: Int.self) == 10_000)
        #expect(try summary.decode(1, as: Int.self) == 9_000)
        #expect(try summary.decode(2, as: Int.self) == 9_999)
        let label = try await connection.query("SELECT label FROM copied WHERE n = 5").first?.decode(0, as: String.self)
        #expect(label == "行5\ttab\\slash\nnewline")
    }

    @Test("a COPY the server rejects reports the error and leaves the connection usable")
    func copyRejected() async throws {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        try await connection.executeScript("CREATE TABLE strict_copy (n int NOT NULL)")
        await #expect(throws: PostgresError.self) {
            try await connection.copyFrom("COPY strict_copy (n) FROM STDIN", rows: [["1"], ["not a number"]])
        }
        #expect(try await connection.query("SELECT count(*) FROM strict_copy").first?.decode(0, as: Int.self) == 0)
    }
}
