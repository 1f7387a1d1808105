import CaseLedger
import Dashboard
import Foundation
import PostgresClient
import PostgresTestSupport
import TaskForces
import Testing

@Suite("Dashboards that never lie")
struct DashboardFreshnessTests {
    @Test("with no worker running, the figures follow the cases within the staleness bound, and carry their as-of time")
    func freshWithoutAWorker() async throws {
        let database = try await seededDatabase("dash_fresh")
        let owner = try await PostgresConnection.connect(database)
        defer { Task { await owner.close() } }
        let reader = try await PostgresConnection.connect(try await TestDatabase.login(["taskforce_dashboard"], on: database).configuration)
        defer { Task { await reader.close() } }
        let before = try await DashboardSnapshot.load(on: reader, maxStaleness: .seconds(1))
        #expect(before.taskForces.first { $0.key == "tax" }?.resolved == 1)
        // Cases resolve while no maintenance leader runs to refresh anything.
        try await owner.query("""
            UPDATE cases SET state = 'resolved', resolved_at = now(), first_response_at = now()
            WHERE task_force = 'tax' AND state = 'open'
            """)
        let truth = try await owner.query("SELECT count(*) FROM cases WHERE task_force = 'tax' AND state = 'resolved'").first!.decode(0, as: Int.self)
        #expect(truth == 2)
        // Within the bound the figures may be as old as their as-of time says…
        let early = try await DashboardSnapshot.load(on: reader, maxStaleness: .seconds(60))
        #expect(early.aggregatesAsOf <= Date())
        // …and once it has passed, a read recomputes them.
        try await Task.sleep(for: .milliseconds(1_100))
        let requested = Date()
        let after = try await DashboardSnapshot.load(on: reader, maxStaleness: .seconds(1))
        #expect(after.taskForces.first { $0.key == "tax" }?.resolved == truth)
        #expect(after.aggregatesAsOf > before.aggregatesAsOf)
        // Recomputed by this read (server and test share the clock; 0.5 s for rounding),
        // however long the read itself took on a loaded machine.
        #expect(after.aggregatesAsOf >= requested.addingTimeInterval(-0.5), "\(after.aggregatesAsOf) vs \(requested)")
        let json = String(decoding: try after.json(), as: UTF8.self)
        #expect(json.contains("\"aggregates_as_of\""))
    }

    @Test("concurrent readers refresh once: the others read what is there")
    func oneRefresherAtATime() async throws {
        let database = try await seededDatabase("dash_once")
        let login = try await TestDatabase.login(["taskforce_dashboard"], on: database)
        try await Task.sleep(for: .milliseconds(1_100))
        let asOfs = try await withThrowingTaskGroup(of: Date.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let reader = try await PostgresConnection.connect(login.configuration)
                    defer { Task { await reader.close() } }
                    return try await DashboardSnapshot.load(on: reader, maxStaleness: .seconds(1)).aggregatesAsOf
                }
            }
            return try await group.reduce(into: [Date]()) { $0.append($1) }
        }
        #expect(Set(asOfs.map { $0.timeIntervalSince1970 }).count <= 2, "\(asOfs)")
        let owner = try await PostgresConnection.connect(database)
        defer { Task { await owner.close() } }
        // refresh_if_stale refuses a bound that would let a reader refresh on every read.
        let reader = try await PostgresConnection.connect(login.configuration)
        defer { Task { await reader.close() } }
        let error = await #expect(throws: PostgresError.self) { try await reader.query("SELECT dashboard.refresh_if_stale(10)") }
        #expect(error?.sqlState == "22023")
    }

    @Test("running attempts show their heartbeat age: silent when the lease lapsed, overrunning past the time limit")
    func troubledAttempts() async throws {
        let database = try await seededDatabase("dash_attempts")
        let owner = try await PostgresConnection.connect(database)
        defer { Task { await owner.close() } }
        try await owner.query("""
            INSERT INTO queue_jobs (queue, kind, state, attempt, lease_token, lease_expires_at, locked_by, attempted_at, heartbeat_at, time_limit_ms)
            VALUES ('tax', 'case', 'running', 1, gen_random_uuid(), now() - interval '5 seconds', 'frozen-worker', now() - interval '40 seconds', now() - interval '35 seconds', NULL),
                   ('tax', 'case', 'running', 1, gen_random_uuid(), now() + interval '20 seconds', 'stuck-worker', now() - interval '90 seconds', now(), 30000),
                   ('tax', 'case', 'running', 1, gen_random_uuid(), now() + interval '20 seconds', 'fine-worker', now() - interval '2 seconds', now(), 30000)
            """)
        let reader = try await PostgresConnection.connect(try await TestDatabase.login(["taskforce_dashboard"], on: database).configuration)
        defer { Task { await reader.close() } }
        let snapshot = try await DashboardSnapshot.load(on: reader)
        let byWorker = Dictionary(uniqueKeysWithValues: snapshot.troubledAttempts.map { ($0.worker ?? "", $0) })
        #expect(byWorker.count == 2)
        #expect(byWorker["frozen-worker"]?.status == "silent")
        #expect((byWorker["frozen-worker"]?.heartbeatAgeSeconds ?? 0) >= 35)
        #expect(byWorker["stuck-worker"]?.status == "overrunning")
        // Its heartbeat is fresh: 35 s younger than the frozen one's (compared with each
        // other, not with a wall-clock bound a loaded machine could overrun).
        let frozenAge = byWorker["frozen-worker"]?.heartbeatAgeSeconds ?? 0
        #expect((byWorker["stuck-worker"]?.heartbeatAgeSeconds ?? 99) < frozenAge - 30)
    }
}
