import Foundation
import PostgresClient
import PostgresTestSupport
import QueueCore
import Testing

/// Jobs that wait for other jobs to finish (`dependsOn`).
@Suite("Dependencies")
struct DependencyTests {
    static func claim(_ connection: PostgresConnection, _ queue: String = "q", limit: Int = 10) async throws -> [Job] {
        try await JobQueue.claim(queues: [queue], limit: limit, lease: .seconds(30), worker: "w", on: connection)
    }

    static func state(_ id: Int64, _ fixture: QueueFixture) async throws -> JobState? {
        try await JobQueue.record(id, on: fixture.connection)?.state
    }

    /// Whether the session `pid` waits for a lock (another transaction holds its row).
    static func blocked(_ pid: Int32, _ fixture: QueueFixture) async throws -> Bool {
        try await fixture.connection.query(
            "SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1", Int(pid)
        ).first?.decode(0, as: Bool.self) ?? false
    }

    @Test("a job waits until every dependency completed, then becomes available")
    func waitsForAll() async throws {
        let fixture = try await QueueFixture.make("deps_all")
        defer { Task { await fixture.close() } }
        let first = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let second = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let dependent = try await JobQueue.enqueue(
            NewJob(queue: "q", kind: "after", dependsOn: [first.id, second.id]), on: fixture.connection)
        #expect(try await Self.state(dependent.id, fixture) == .waiting)
        #expect(try await JobQueue.record(dependent.id, on: fixture.connection)?.dependsOn == [first.id, second.id])

        let claimed = try await Self.claim(fixture.connection, limit: 1)
        #expect(claimed.map(\.id) == [first.id])
        try await JobQueue.complete(claimed.map(\.lease), on: fixture.connection)
        #expect(try await Self.state(dependent.id, fixture) == .waiting, "one dependency is still unfinished")

        let rest = try await Self.claim(fixture.connection)
        #expect(rest.map(\.id) == [second.id], "the dependent is not claimable yet")
        try await JobQueue.complete(rest.map(\.lease), on: fixture.connection)
        #expect(try await Self.state(dependent.id, fixture) == .available)
        let released = try await Self.claim(fixture.connection)
        #expect(released.map(\.id) == [dependent.id])
        #expect(released.first?.attempt == 1)
        #expect(try await fixture.count("SELECT count(*) FROM queue_job_dependencies") == 0, "no link outlives the wait")
    }

    @Test("a discarded or cancelled dependency cancels its dependents, and theirs after them; a job enqueued to run anyway runs")
    func failureCascades() async throws {
        let fixture = try await QueueFixture.make("deps_cascade")
        defer { Task { await fixture.close() } }
        let root = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", maxAttempts: 1), on: fixture.connection)
        let child = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", dependsOn: [root.id]), on: fixture.connection)
        let grandchild = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", dependsOn: [child.id]), on: fixture.connection)
        let cleanup = try await JobQueue.enqueue(
            NewJob(queue: "q", kind: "cleanup", dependsOn: [root.id], runIfDependencyFails: true), on: fixture.connection)

        let claimed = try await Self.claim(fixture.connection)
        #expect(claimed.map(\.id) == [root.id])
        #expect(try await JobQueue.fail([JobQueue.Failure(lease: claimed[0].lease, error: "boom", retryDelay: .zero)], on: fixture.connection)
            == [root.id: .discarded])

        #expect(try await Self.state(child.id, fixture) == .cancelled)
        #expect(try await Self.state(grandchild.id, fixture) == .cancelled)
        let reason = try await JobQueue.record(child.id, on: fixture.connection)?.errors.last?.error
        #expect(reason == "cancelled: dependency \(root.id) was discarded")
        #expect(try await Self.state(cleanup.id, fixture) == .available)

        // An operator's cancel cascades the same way.
        let other = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let waiting = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", dependsOn: [other.id]), on: fixture.connection)
        try await JobQueue.cancel(other.id, on: fixture.connection)
        #expect(try await Self.state(waiting.id, fixture) == .cancelled)
    }

    @Test("a dependency already completed is satisfied; one already discarded or cancelled cancels the new job at once")
    func finishedDependencies() async throws {
        let fixture = try await QueueFixture.make("deps_finished")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let done = try #require(try await Self.claim(fixture.connection).first)
        try await JobQueue.complete([done.lease], on: fixture.connection)
        let cancelled = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        try await JobQueue.cancel(cancelled.id, on: fixture.connection)

        let afterDone = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", dependsOn: [done.id]), on: fixture.connection)
        #expect(try await Self.state(afterDone.id, fixture) == .available)
        let afterCancelled = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", dependsOn: [cancelled.id]), on: fixture.connection)
        #expect(try await Self.state(afterCancelled.id, fixture) == .cancelled)
        let anyway = try await JobQueue.enqueue(
            NewJob(queue: "q", kind: "k", dependsOn: [cancelled.id, done.id], runIfDependencyFails: true), on: fixture.connection)
        #expect(try await Self.state(anyway.id, fixture) == .available)
        // Scheduled for later: released into `scheduled`, not `available`.
        let later = try await JobQueue.enqueue(
            NewJob(queue: "q", kind: "k", runAt: Date().addingTimeInterval(3_600), dependsOn: [done.id]), on: fixture.connection)
        #expect(try await Self.state(later.id, fixture) == .scheduled)
    }

    @Test("an unknown dependency is an error naming its id, and nothing of the batch is enqueued")
    func unknownDependency() async throws {
        let fixture = try await QueueFixture.make("deps_unknown")
        defer { Task { await fixture.close() } }
        let known = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let error = await #expect(throws: QueueError.self) {
            try await JobQueue.enqueue([
                NewJob(queue: "q", kind: "k"),
                NewJob(queue: "q", kind: "k", dependsOn: [known.id, 987_654]),
            ], on: fixture.connection)
        }
        #expect(error?.code == .notFound)
        #expect(error?.jobID == 987_654)
        #expect(error?.message.contains("987654") == true)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 1)
    }

    @Test("two dependencies finishing at once in two transactions release the dependent once (the second waits for the first's lock on it)")
    func concurrentDependenciesFinishing() async throws {
        let fixture = try await QueueFixture.make("deps_race")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue([NewJob(queue: "q", kind: "k"), NewJob(queue: "q", kind: "k")], on: fixture.connection)
        let held = try await Self.claim(fixture.connection)
        let dependent = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", dependsOn: held.map(\.id)), on: fixture.connection)
        let one = try await PostgresConnection.connect(fixture.database)
        let two = try await PostgresConnection.connect(fixture.database)
        defer { Task { await one.close(); await two.close() } }

        // The first completion's release trigger sees the second dependency unfinished.
        try await one.executeScript("BEGIN")
        #expect(try await JobQueue.complete([held[0].lease], on: one) == [held[0].id])
        // The second starts while the first is uncommitted: its own snapshot would see
        // the first dependency still running, so it must wait for the first to commit.
        let pid = await two.backendPID
        let second = Task {
            try await two.executeScript("BEGIN")
            let completed = try await JobQueue.complete([held[1].lease], on: two)
            try await two.executeScript("COMMIT")
            return completed
        }
        #expect(await eventually { try await Self.blocked(pid, fixture) })
        try await one.executeScript("COMMIT")
        #expect(try await second.value == [held[1].id])

        #expect(try await Self.state(dependent.id, fixture) == .available)
        #expect(try await Self.claim(fixture.connection).map(\.id) == [dependent.id])
    }

    @Test("a dependency finishing while its dependent is being enqueued: whichever commits first, the dependent is released",
          arguments: [true, false])
    func dependencyFinishesDuringEnqueue(enqueueFirst: Bool) async throws {
        let fixture = try await QueueFixture.make("deps_enqueue_race")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let dependency = try #require(try await Self.claim(fixture.connection).first)
        let first = try await PostgresConnection.connect(fixture.database)
        let second = try await PostgresConnection.connect(fixture.database)
        defer { Task { await first.close(); await second.close() } }
        let enqueue = { (connection: PostgresConnection) async throws -> Int64 in
            try await JobQueue.enqueue(NewJob(queue: "q", kind: "after", dependsOn: [dependency.id]), on: connection).id
        }
        let complete = { (connection: PostgresConnection) async throws -> Int64 in
            #expect(try await JobQueue.complete([dependency.lease], on: connection) == [dependency.id])
            return 0
        }
        // The first operation holds its lock on the dependency's row, uncommitted; the
        // second (autocommitted) waits for it.
        try await first.executeScript("BEGIN")
        let firstResult = try await (enqueueFirst ? enqueue : complete)(first)
        let pid = await second.backendPID
        let other = Task { try await (enqueueFirst ? complete : enqueue)(second) }
        #expect(await eventually { try await Self.blocked(pid, fixture) })
        try await first.executeScript("COMMIT")
        let secondResult = try await other.value

        let dependent = enqueueFirst ? firstResult : secondResult
        #expect(try await Self.state(dependent, fixture) == .available)
        #expect(try await Self.claim(fixture.connection).map(\.id) == [dependent])
    }

    @Test("a job after twenty dependencies that several slots complete in batches runs once, after all of them")
    func manyDependenciesThroughTheRuntime() async throws {
        let fixture = try await QueueFixture.make("deps_runtime")
        defer { Task { await fixture.close() } }
        let ran = Recorder<Int64>()
        let runtime = JobRuntime(database: fixture.database, configuration: testConfiguration(queues: ["q"], slots: 4), handlers: [
            "k": { job in ran.append(job.id); return .completed },
        ])
        // Enqueued before the runtime starts, so that the dependencies are still unfinished.
        let dependencies = try await JobQueue.enqueue((0..<20).map { _ in NewJob(queue: "q", kind: "k") }, on: fixture.connection)
        let dependent = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", dependsOn: dependencies.map(\.id)), on: fixture.connection)
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { try await Self.state(dependent.id, fixture) == .completed })
        try await running.stop()
        #expect(ran.count == 21)
        #expect(ran.all.last == dependent.id)
        #expect(ran.all.filter { $0 == dependent.id }.count == 1)
    }

    @Test("a department's worker login enqueues, waits, signals and completes a dependent job in its own queue, and cannot depend on another queue's job")
    func departmentWorker() async throws {
        let fixture = try await QueueFixture.make("deps_department")
        defer { Task { await fixture.close() } }
        let login = try await TestDatabase.login(["taskforce_worker_tax"], on: fixture.database)
        let department = try await PostgresConnection.connect(login.configuration)
        defer { Task { await department.close() } }
        let seen = Recorder<JobWakeup?>()
        let runtime = JobRuntime(database: login.configuration, configuration: testConfiguration(queues: ["tax"]), handlers: [
            "collect": { _ in .completed },
            "review": { job in
                seen.append(job.wakeup)
                return job.wakeup == nil ? .wait(for: "tax:review:1") : .completed
            },
        ])
        let (collect, review) = try await department.transaction { tx in
            let collect = try await JobQueue.enqueue(NewJob(queue: "tax", kind: "collect"), on: tx)
            let review = try await JobQueue.enqueue(NewJob(queue: "tax", kind: "review", dependsOn: [collect.id]), on: tx)
            return (collect.id, review.id)
        }
        // Another queue's job waiting for the same key: not this department's to wake.
        let legal = try await JobQueue.enqueue(NewJob(queue: "legal", kind: "review", waitFor: "tax:review:1"), on: fixture.connection)

        #expect(try await JobQueue.record(review, on: department)?.state == .waiting, "waiting for its dependency")
        #expect(try await JobQueue.record(review, on: department)?.waitKey == nil)
        let running = RunningRuntime.start(runtime)
        // Released once `collect` completed, its handler now waits for the signal.
        #expect(await eventually { try await JobQueue.record(review, on: department)?.waitKey == "tax:review:1" })
        #expect(try await JobQueue.record(review, on: department)?.state == .waiting)
        #expect(try await JobQueue.record(collect, on: department)?.state == .completed)
        #expect(try await JobQueue.signal("tax:review:1", data: #"{"approved": true}"#, on: department) == 1)
        #expect(await eventually { try await JobQueue.record(review, on: department)?.state == .completed })
        try await running.stop()
        #expect(seen.all == [nil, JobWakeup(key: "tax:review:1", reason: .signal, data: #"{"approved": true}"#)])
        #expect(try await Self.state(legal.id, fixture) == .waiting)

        // A job of another queue is invisible to the department: as unknown as a wrong id.
        let error = await #expect(throws: QueueError.self) {
            try await JobQueue.enqueue(NewJob(queue: "tax", kind: "review", dependsOn: [legal.id]), on: department)
        }
        #expect(error?.jobID == legal.id)
    }
}
