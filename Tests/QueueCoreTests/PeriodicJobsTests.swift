import Foundation
import PostgresClient
import PostgresTestSupport
import QueueCore
import Testing

/// Schedules in `queue_periodic`, enqueued once per period by the maintenance leader.
@Suite("Periodic jobs")
struct PeriodicJobsTests {
    /// 2027-01-15 08:00:00 UTC, on the hour.
    static let hour = Date(timeIntervalSince1970: 1_800_000_000)

    static func maintainer(_ fixture: QueueFixture) async throws -> PostgresConnection {
        try await PostgresConnection.connect(try await TestDatabase.login(["taskforce_maintainer"], on: fixture.database).configuration)
    }

    @Test("registering is idempotent: the same name changes its schedule and keeps the last period enqueued")
    func registerIsAnUpsert() async throws {
        let fixture = try await QueueFixture.make("periodic_upsert")
        defer { Task { await fixture.close() } }
        let dispatcher = try await PostgresConnection.connect(
            try await TestDatabase.login(["taskforce_dispatcher"], on: fixture.database).configuration)
        defer { Task { await dispatcher.close() } }
        try await JobQueue.schedulePeriodic(PeriodicJob(name: "report", queue: "q", kind: "report", every: .seconds(3_600)), on: dispatcher)
        try await JobQueue.schedulePeriodic(PeriodicJob(name: "report", queue: "q", kind: "report", every: .seconds(3_600)), on: dispatcher)
        #expect(try await JobQueue.periodicSchedules(on: dispatcher).count == 1)
        try await QueueMaintenance.enqueuePeriodic(at: Self.hour, on: fixture.connection)

        let changed = PeriodicJob(name: "report", queue: "q", kind: "report", payload: #"{"format": "pdf"}"#, priority: 3,
                                  every: .seconds(3_600), maxAttempts: 2, timeLimit: .seconds(90))
        try await JobQueue.schedulePeriodic(changed, on: dispatcher)
        let schedules = try await JobQueue.periodicSchedules(on: dispatcher)
        #expect(schedules.map(\.job) == [changed])
        #expect(schedules.first?.lastEnqueuedPeriod == Self.hour)
        #expect(try await QueueMaintenance.enqueuePeriodic(at: Self.hour.addingTimeInterval(60), on: fixture.connection).isEmpty,
                "a changed schedule does not enqueue its period again")

        #expect(try await JobQueue.unschedulePeriodic("report", on: dispatcher))
        #expect(!(try await JobQueue.unschedulePeriodic("report", on: dispatcher)))
        #expect(try await JobQueue.periodicSchedules(on: dispatcher).isEmpty)
    }

    @Test("several leaders racing for the same period enqueue exactly one job; the next period enqueues the next")
    func oncePerPeriod() async throws {
        let fixture = try await QueueFixture.make("periodic_once")
        defer { Task { await fixture.close() } }
        try await JobQueue.schedulePeriodic(
            PeriodicJob(name: "report", queue: "q", kind: "report", payload: #"{"scope": "all"}"#, every: .seconds(3_600)),
            on: fixture.connection)
        var opened: [PostgresConnection] = []
        for _ in 0..<4 { opened.append(try await Self.maintainer(fixture)) }
        let sessions = opened
        defer { Task { for session in sessions { await session.close() } } }

        // Four sessions at once, each a little past the start of the same hour.
        let results = try await withThrowingTaskGroup(of: [QueueMaintenance.PeriodicEnqueue].self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask { try await QueueMaintenance.enqueuePeriodic(at: Self.hour.addingTimeInterval(Double(index)), on: session) }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(results.count == 1)
        let first = try #require(results.first)
        #expect(first.name == "report")
        #expect(first.period == Self.hour)
        let id = try #require(first.jobID)
        let record = try #require(try await JobQueue.record(id, on: fixture.connection))
        #expect(record.uniqueKey == "periodic:report:2027-01-15T08:00:00Z")
        #expect(record.kind == "report")
        #expect(record.payload == #"{"scope": "all"}"#)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 1)

        // Its job completes (leaves the hot table): the period is still not enqueued again.
        let claimed = try await JobQueue.claim(queues: ["q"], limit: 5, lease: .seconds(30), worker: "w", on: fixture.connection)
        try await JobQueue.complete(claimed.map(\.lease), on: fixture.connection)
        #expect(try await QueueMaintenance.enqueuePeriodic(at: Self.hour.addingTimeInterval(3_599), on: sessions[0]).isEmpty)

        let next = try await QueueMaintenance.enqueuePeriodic(at: Self.hour.addingTimeInterval(3_600), on: sessions[1])
        #expect(next.map(\.period) == [Self.hour.addingTimeInterval(3_600)])
        let nextID = try #require(next.first?.jobID)
        #expect(try await JobQueue.record(nextID, on: fixture.connection)?.uniqueKey == "periodic:report:2027-01-15T09:00:00Z")
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 1)
    }

    @Test("a period whose key an unfinished job already holds is reported without a job")
    func keyAlreadyHeld() async throws {
        let fixture = try await QueueFixture.make("periodic_held")
        defer { Task { await fixture.close() } }
        try await JobQueue.schedulePeriodic(PeriodicJob(name: "sync", queue: "q", kind: "sync", every: .seconds(60)), on: fixture.connection)
        let first = try await QueueMaintenance.enqueuePeriodic(at: Self.hour, on: fixture.connection)
        #expect(first.first?.jobID != nil)
        // Someone resets the schedule's record while its job is still queued.
        try await fixture.connection.query("UPDATE queue_periodic SET last_enqueued_period = NULL")
        let again = try await QueueMaintenance.enqueuePeriodic(at: Self.hour, on: fixture.connection)
        #expect(again == [QueueMaintenance.PeriodicEnqueue(name: "sync", period: Self.hour, jobID: nil)])
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 1)
    }

    @Test("the maintenance leader registers its schedules and enqueues each period's job, which a worker runs")
    func throughTheLeader() async throws {
        let fixture = try await QueueFixture.make("periodic_leader")
        defer { Task { await fixture.close() } }
        // As deployed: a maintenance-only process under the maintainer's login, and a worker.
        let login = try await TestDatabase.login(["taskforce_maintainer"], on: fixture.database)
        var leaderConfiguration = testConfiguration(queues: [])
        leaderConfiguration.maintenance.periodicJobs = [PeriodicJob(name: "nightly", queue: "q", kind: "report", every: .seconds(86_400))]
        let leader = RunningRuntime.start(JobRuntime(database: login.configuration, configuration: leaderConfiguration, handlers: [:]))
        let ran = Recorder<Int64>()
        var workerConfiguration = testConfiguration(queues: ["q"])
        workerConfiguration.maintenance.enabled = false
        let worker = RunningRuntime.start(JobRuntime(database: fixture.database, configuration: workerConfiguration, handlers: [
            "report": { job in ran.append(job.id); return .completed },
        ]))
        #expect(await eventually { ran.count == 1 })
        try await leader.stop()
        try await worker.stop()
        let schedules = try await JobQueue.periodicSchedules(on: fixture.connection)
        #expect(schedules.map(\.job.name) == ["nightly"])
        #expect(schedules.first?.lastEnqueuedPeriod != nil)
        #expect(try await fixture.count("SELECT count(*) FROM queue_job_archive WHERE unique_key LIKE 'periodic:nightly:%'") == 1)
        #expect(ran.count == 1)
    }

    @Test("invalid schedules are refused with a reason; a department's login may not register one")
    func invalidSchedules() async throws {
        let fixture = try await QueueFixture.make("periodic_invalid")
        defer { Task { await fixture.close() } }
        await #expect(throws: QueueError.self) {
            try await JobQueue.schedulePeriodic(PeriodicJob(name: "", queue: "q", kind: "k", every: .seconds(60)), on: fixture.connection)
        }
        await #expect(throws: QueueError.self) {
            try await JobQueue.schedulePeriodic(PeriodicJob(name: "fast", queue: "q", kind: "k", every: .milliseconds(500)), on: fixture.connection)
        }
        await #expect(throws: QueueError.self) {
            try await JobQueue.schedulePeriodic(PeriodicJob(name: "x", queue: "", kind: "k", every: .seconds(60)), on: fixture.connection)
        }
        let department = try await PostgresConnection.connect(
            try await TestDatabase.login(["taskforce_worker_tax"], on: fixture.database).configuration)
        defer { Task { await department.close() } }
        await #expect(throws: PostgresError.self) {
            try await JobQueue.schedulePeriodic(PeriodicJob(name: "mine", queue: "tax", kind: "k", every: .seconds(60)), on: department)
        }
    }
}
