import Foundation
import PostgresClient
import PostgresTestSupport
import Testing

/// Sends `signal` to a backend process. The tests run on the database's own host; only
/// root (or the server's OS user) may signal its processes.
private func signalBackend(_ pid: Int32, _ signal: Int32) -> Bool { kill(pid, signal) == 0 }

@Suite("Statement deadlines and cancellation")
struct DeadlineTests {
    let database: PostgresConfiguration

    init() async throws {
        database = try await TestDatabase.create("deadline")
    }

    @Test("a statement whose server stops answering (frozen backend, as in a partition) fails at its deadline, and the next one reconnects")
    func frozenServerHitsTheDeadline() async throws {
        var configuration = database
        configuration.statementDeadline = .seconds(1)
        let connection = try await PostgresConnection.connect(configuration)
        defer { Task { await connection.close() } }
        let pid = await connection.backendPID
        // SIGSTOP freezes the backend: the server's own statement_timeout cannot fire,
        // exactly like a server host cut off by the network.
        guard signalBackend(pid, SIGSTOP) else {
            print("skipped: cannot signal PostgreSQL's processes from this user")
            return
        }
        defer { _ = signalBackend(pid, SIGCONT) }
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await connection.query("SELECT 1") }
        let waited = ContinuousClock.now - started
        _ = signalBackend(pid, SIGCONT)
        #expect(error?.code == .connectionLost)
        #expect(error?.message.contains("deadline") == true)
        #expect(waited < .seconds(10), "the deadline bounds the wait (\(waited))")
        // The frozen session was dropped; the next statement opens a new one.
        #expect(try await connection.query("SELECT 2").first?.decode(0, as: Int.self) == 2)
        #expect(await connection.backendPID != pid)
    }

    @Test("cancelling the task cancels its statement on the server (PQcancel) and the connection stays usable")
    func taskCancellationCancelsTheStatement() async throws {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        let pid = await connection.backendPID
        let started = ContinuousClock.now
        let sleeper = Task { try await connection.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        sleeper.cancel()
        let result = await sleeper.result
        let waited = ContinuousClock.now - started
        guard case .failure(let error as PostgresError) = result else {
            Issue.record("expected the cancelled statement to fail, got \(result)")
            return
        }
        #expect(error.sqlState == "57014", "query_canceled: \(error)")
        #expect(waited < .seconds(10))
        // The same session, still usable.
        #expect(try await connection.query("SELECT 3").first?.decode(0, as: Int.self) == 3)
        #expect(await connection.backendPID == pid)
    }

    @Test("a task cancelled before its statement still runs it (clean-up after cancellation works)")
    func alreadyCancelledTaskStillRuns() async throws {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        let value = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await connection.query("SELECT 4 FROM pg_sleep(0.2)").first?.decode(0, as: Int.self)
        }.result
        #expect(try value.get() == 4)
    }

    @Test("each login gets its group's statement timeout in this database (public.login_settings)")
    func loginsGetTheirTimeouts() async throws {
        let migrated = try await TestDatabase.create("deadline_roles")
        let worker = try await TestDatabase.login(["taskforce_worker_tax"], on: migrated)
        let dashboard = try await TestDatabase.login(["taskforce_dashboard"], on: migrated)
        for (login, expected) in [(worker, "30s"), (dashboard, "30s")] {
            let connection = try await PostgresConnection.connect(login.configuration)
            #expect(try await connection.query("SHOW statement_timeout").first?.decode(0, as: String.self) == expected)
            #expect(try await connection.query("SHOW idle_in_transaction_session_timeout").first?.decode(0, as: String.self) != "0")
            await connection.close()
        }
        // A statement longer than the login's timeout is cancelled by the server.
        let admin = try await PostgresConnection.connect(migrated)
        try await admin.executeScript("UPDATE public.login_settings SET value = '1s' WHERE group_role = 'taskforce_worker' AND setting = 'statement_timeout'")
        try await admin.query("SELECT public.apply_login_settings($1)", worker.name)
        await admin.close()
        let connection = try await PostgresConnection.connect(worker.configuration)
        defer { Task { await connection.close() } }
        let error = await #expect(throws: PostgresError.self) { try await connection.query("SELECT pg_sleep(5)") }
        #expect(error?.sqlState == "57014")
    }
}
