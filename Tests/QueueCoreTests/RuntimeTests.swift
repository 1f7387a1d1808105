import Foundation
import PostgresClient
import QueueCore
import Synchronization
import ServiceLifecycle
import Logging
import Testing

@Suite("Worker runtime")
struct RuntimeTests {
    @Test("10,000 jobs, 8 concurrent claimers on separate connections: each completed exactly once")
    func concurrentClaimers() async throws {
        let fixture = try await QueueFixture.make("claimers")
        defer { Task { await fixture.close() } }
        try await JobQueue.copy((0..<10_000).map { NewJob(queue: "q", kind: "k", payload: "{\"n\": \($0)}") }, on: fixture.connection)
        let completedIDs = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    let connection = try await PostgresConnection.connect(fixture.database)
                    defer { Task { await connection.close() } }
                    var mine: [Int64] = []
                    while true {
                        let jobs = try await JobQueue.claim(queues: ["q"], limit: 25, lease: .seconds(60), worker: "w\(worker)", on: connection)
                        if jobs.isEmpty { break }
                        let done = try await JobQueue.complete(jobs.map(\.lease), on: connection)
                        #expect(done.count == jobs.count)
                        mine += done
                    }
                    return mine
                }
            }
            var all: [Int64] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(completedIDs.count == 10_000)
        #expect(Set(completedIDs).count == 10_000)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 0)
        #expect(try await fixture.count("SELECT count(DISTINCT id) FROM queue_job_archive WHERE state = 'completed'") == 10_000)
    }

    @Test("the runtime runs jobs and commits hook writes in the completing transaction")
    func runsJobsWithHooks() async throws {
        let fixture = try await QueueFixture.make("hooks")
        defer { Task { await fixture.close() } }
        try await fixture.connection.executeScript("CREATE TABLE results (job_id bigint PRIMARY KEY, result text)")
        try await JobQueue.enqueue((0..<300).map { NewJob(queue: "q", kind: "echo", payload: "{\"n\": \($0)}") }, on: fixture.connection)
        let hooks = JobRuntimeHooks(didComplete: { jobs, connection in
            try await connection.query(
                "INSERT INTO results SELECT * FROM unnest($1::bigint[], $2::text[])",
                jobs.map(\.job.id), jobs.map(\.result))
        })
        let runtime = JobRuntime(
            database: fixture.database, configuration: testConfiguration(queues: ["q"], slots: 8),
            handlers: ["echo": { job in .completed(result: job.payload) }], hooks: hooks)
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { try await fixture.count("SELECT count(*) FROM results") == 300 })
        try await running.stop()
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 0)
        #expect(runtime.statistics.completed == 300)
        let sample = try await fixture.connection.query("SELECT r.result FROM results r JOIN queue_job_archive a ON a.id = r.job_id WHERE a.payload->>'n' = '17'")
        #expect(try sample.first?.decode(0, as: String.self).contains("17") == true)
    }

    @Test("a job whose worker crashed (no heartbeats) runs again after its lease expires, attempt counted")
    func crashedWorkerIsRescued() async throws {
        let fixture = try await QueueFixture.make("crash")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection).id
        // The "crashed" worker claims and then never heartbeats or completes.
        _ = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .milliseconds(300), worker: "crashed", on: fixture.connection)
        let attempts = Recorder<Int>()
        let runtime = JobRuntime(
            database: fixture.database, configuration: testConfiguration(queues: ["q"]),
            handlers: ["k": { job in attempts.append(job.attempt); return .completed }])
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .completed })
        try await running.stop()
        #expect(attempts.all == [2])
        #expect(runtime.statistics.rescued == 1)
    }

    @Test("a handler past its time limit is cancelled, its attempt failed, and the job retried")
    func timeLimitCancels() async throws {
        let fixture = try await QueueFixture.make("timelimit")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "slow", timeLimit: .milliseconds(200)), on: fixture.connection).id
        let attempts = Recorder<Int>()
        let runtime = JobRuntime(
            database: fixture.database, configuration: testConfiguration(queues: ["q"]),
            handlers: ["slow": { job in
                attempts.append(job.attempt)
                if job.attempt == 1 { try await Task.sleep(for: .seconds(30)) }
                return .completed
            }])
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .completed })
        try await running.stop()
        let record = try #require(try await JobQueue.record(id, on: fixture.connection))
        #expect(attempts.all == [1, 2])
        #expect(record.errors.count == 1)
        #expect(record.errors.first?.error == "time limit exceeded after 0.2 s")
        #expect(runtime.statistics.timedOut == 1)
    }

    @Test("a handler that ignores cancellation still has its attempt failed, and keeps its slot until it returns")
    func timeLimitIgnoredCancellation() async throws {
        let fixture = try await QueueFixture.make("stubborn")
        defer { Task { await fixture.close() } }
        let stubborn = try await JobQueue.enqueue(NewJob(queue: "q", kind: "stubborn", priority: 10, maxAttempts: 1, timeLimit: .milliseconds(100)), on: fixture.connection).id
        let returned = Atomic<Bool>(false)
        let starts = Recorder<(Int64, Bool)>()
        var configuration = testConfiguration(queues: ["q"], slots: 1)
        configuration.defaultTimeLimit = .seconds(10)
        let runtime = JobRuntime(
            database: fixture.database, configuration: configuration,
            handlers: [
                "stubborn": { _ in
                    // Waits 1.5 s without ever checking for cancellation.
                    await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                        DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) { continuation.resume() }
                    }
                    returned.store(true, ordering: .sequentiallyConsistent)
                    return .completed
                },
                "next": { job in starts.append((job.id, returned.load(ordering: .sequentiallyConsistent))); return .completed },
            ])
        let running = RunningRuntime.start(runtime)
        // The attempt is failed (here: discarded, one attempt) while the handler still runs.
        #expect(await eventually(timeout: .seconds(5)) { try await JobQueue.record(stubborn, on: fixture.connection)?.state == .discarded })
        #expect(returned.load(ordering: .sequentiallyConsistent) == false)
        // A second job enqueued now must wait for the slot.
        try await JobQueue.enqueue(NewJob(queue: "q", kind: "next"), on: fixture.connection)
        #expect(await eventually { starts.count == 1 })
        try await running.stop()
        #expect(starts.all.first?.1 == true)
        let record = try #require(try await JobQueue.record(stubborn, on: fixture.connection))
        #expect(record.errors.first?.error == "time limit exceeded after 0.1 s")
    }

    @Test("an idle runtime starts a new job on NOTIFY without waiting for its poll interval")
    func notifyWakesIdleRuntime() async throws {
        let fixture = try await QueueFixture.make("notify")
        defer { Task { await fixture.close() } }
        var configuration = testConfiguration(queues: ["q"])
        configuration.pollInterval = .seconds(60)
        configuration.maintenance.enabled = false
        let started = Recorder<Date>()
        let runtime = JobRuntime(database: fixture.database, configuration: configuration,
                                 handlers: ["k": { _ in started.append(Date()); return .completed }])
        let running = RunningRuntime.start(runtime)
        // Let it claim once (finding nothing) and go idle.
        try await Task.sleep(for: .milliseconds(500))
        let enqueuedAt = Date()
        try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        #expect(await eventually(timeout: .seconds(10)) { started.count == 1 })
        try await running.stop()
        let pickup = try #require(started.all.first).timeIntervalSince(enqueuedAt)
        #expect(pickup < 30, "picked up after \(pickup) s: the NOTIFY did not wake the runtime")
    }

    @Test("poll-only mode finds work without LISTEN")
    func pollOnly() async throws {
        let fixture = try await QueueFixture.make("pollonly")
        defer { Task { await fixture.close() } }
        var configuration = testConfiguration(queues: ["q"])
        configuration.pollOnly = true
        let runtime = JobRuntime(database: fixture.database, configuration: configuration, handlers: ["k": { _ in .completed }])
        let running = RunningRuntime.start(runtime)
        try await JobQueue.enqueue((0..<20).map { _ in NewJob(queue: "q", kind: "k") }, on: fixture.connection)
        #expect(await eventually { runtime.statistics.completed == 20 })
        let listeners = try await fixture.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")
        try await running.stop()
        #expect(listeners == 0)
    }

    @Test("graceful shutdown gives unfinished jobs back without consuming attempts")
    func gracefulShutdown() async throws {
        let fixture = try await QueueFixture.make("shutdown")
        defer { Task { await fixture.close() } }
        let ids = try await JobQueue.enqueue((0..<3).map { _ in NewJob(queue: "q", kind: "long") }, on: fixture.connection).map(\.id)
        let quick = try await JobQueue.enqueue(NewJob(queue: "q", kind: "quick", priority: -1), on: fixture.connection).id
        var configuration = testConfiguration(queues: ["q"], slots: 4)
        // Long enough for the quick job on a loaded machine; the long ones sleep a minute.
        configuration.shutdownGracePeriod = .seconds(3)
        // Not a test of leases: a 2 s lease can lapse on a starved machine (the whole suite on
        // two cores), and a job whose lease lapsed is rightly dropped, not given back.
        configuration.lease = .seconds(30)
        let runtime = JobRuntime(database: fixture.database, configuration: configuration, handlers: [
            "long": { _ in try await Task.sleep(for: .seconds(60)); return .completed },
            "quick": { _ in try await Task.sleep(for: .milliseconds(100)); return .completed },
        ])
        let running = RunningRuntime.start(runtime)
        // All four claimed, as the runtime sees it (the database shows them running a moment
        // before the runtime has the claim's answer).
        #expect(await eventually { runtime.statistics.claimed == 4 })
        #expect(await eventually { try await fixture.count("SELECT count(*) FROM queue_jobs WHERE state = 'running'") == 4 })
        try await running.stop()
        for id in ids {
            let record = try #require(try await JobQueue.record(id, on: fixture.connection))
            #expect(record.state == .available)
            #expect(record.attempt == 0)
            #expect(record.errors.isEmpty)
        }
        // The job that could finish within the grace period did.
        #expect(try await JobQueue.record(quick, on: fixture.connection)?.state == .completed)
        #expect(runtime.statistics.givenBack == 3)
    }

    @Test("an operator's cancel reaches a running handler through its heartbeat")
    func cancelRunningJob() async throws {
        let fixture = try await QueueFixture.make("cancel_running")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "long"), on: fixture.connection).id
        let cancelled = Atomic<Bool>(false)
        let runtime = JobRuntime(database: fixture.database, configuration: testConfiguration(queues: ["q"]), handlers: [
            "long": { _ in
                do { try await Task.sleep(for: .seconds(60)) } catch { cancelled.store(true, ordering: .sequentiallyConsistent); throw error }
                return .completed
            },
        ])
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .running })
        try await JobQueue.cancel(id, on: fixture.connection)
        #expect(await eventually { cancelled.load(ordering: .sequentiallyConsistent) })
        try await running.stop()
        #expect(try await JobQueue.record(id, on: fixture.connection)?.state == .cancelled)
    }

    @Test("handler outcomes: failure retries with backoff, discard, snooze and cancel")
    func outcomes() async throws {
        let fixture = try await QueueFixture.make("outcomes")
        defer { Task { await fixture.close() } }
        struct Flaky: Error, CustomStringConvertible { var description: String { "flaky downstream" } }
        let flaky = try await JobQueue.enqueue(NewJob(queue: "q", kind: "flaky", maxAttempts: 3), on: fixture.connection).id
        let doomed = try await JobQueue.enqueue(NewJob(queue: "q", kind: "doomed"), on: fixture.connection).id
        let sleepy = try await JobQueue.enqueue(NewJob(queue: "q", kind: "sleepy"), on: fixture.connection).id
        let quitter = try await JobQueue.enqueue(NewJob(queue: "q", kind: "quitter"), on: fixture.connection).id
        let discarded = Recorder<Int64>()
        let runtime = JobRuntime(
            database: fixture.database, configuration: testConfiguration(queues: ["q"]),
            handlers: [
                "flaky": { job in if job.attempt < 3 { throw Flaky() }; return .completed },
                "doomed": { _ in .discard(reason: "payload can never work") },
                "sleepy": { _ in .snooze(.seconds(3600)) },
                "quitter": { _ in .cancel(reason: "withdrawn by the enterprise") },
            ],
            hooks: JobRuntimeHooks(didFail: { jobs, _ in for job in jobs where job.newState == .discarded { discarded.append(job.job.id) } }))
        let running = RunningRuntime.start(runtime)
        let expected: [(Int64, JobState)] = [(flaky, .completed), (doomed, .discarded), (sleepy, .scheduled), (quitter, .cancelled)]
        #expect(await eventually {
            for (id, state) in expected where try await JobQueue.record(id, on: fixture.connection)?.state != state { return false }
            return true
        })
        try await running.stop()
        #expect(try await JobQueue.record(flaky, on: fixture.connection)?.errors.map(\.error) == ["flaky downstream", "flaky downstream"])
        #expect(discarded.all == [doomed])
        #expect(try await JobQueue.record(sleepy, on: fixture.connection)?.attempt == 0)
    }

    @Test("connections killed mid-run: the runtime reconnects and every job completes exactly once")
    func survivesTerminatedConnections() async throws {
        let fixture = try await QueueFixture.make("terminate")
        defer { Task { await fixture.close() } }
        try await fixture.connection.executeScript("CREATE TABLE done (job_id bigint NOT NULL, at timestamptz DEFAULT now())")
        try await JobQueue.copy((0..<2_000).map { NewJob(queue: "q", kind: "k", payload: "{\"n\": \($0)}") }, on: fixture.connection)
        var configuration = testConfiguration(queues: ["q"], slots: 8)
        configuration.lease = .seconds(1)
        let runtime = JobRuntime(
            database: PostgresConfiguration(connectionString: fixture.database.connectionString, applicationName: "victim").with(database: fixture.database.database!),
            configuration: configuration,
            handlers: ["k": { _ in try await Task.sleep(for: .milliseconds(2)); return .completed }],
            hooks: JobRuntimeHooks(didComplete: { jobs, connection in
                try await connection.query("INSERT INTO done (job_id) SELECT unnest($1::bigint[])", jobs.map(\.job.id))
            }))
        let running = RunningRuntime.start(runtime)
        var terminated = 0
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(150))
            terminated += try await fixture.connection.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim' AND datname = current_database()").count
        }
        #expect(terminated >= 5)
        #expect(await eventually(timeout: .seconds(60)) { try await fixture.count("SELECT count(*) FROM queue_job_archive") == 2_000 })
        try await running.stop()
        #expect(try await fixture.count("SELECT count(*) FROM done") == 2_000)
        #expect(try await fixture.count("SELECT count(DISTINCT job_id) FROM done") == 2_000)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 0)
    }

    @Test("a job rescued and claimed again by the same runtime: the old attempt is cancelled, the new one keeps its heartbeat and completes once")
    func rescuedAndReclaimedBySameRuntime() async throws {
        let fixture = try await QueueFixture.make("reclaimed")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "slow", maxAttempts: 5), on: fixture.connection).id
        let attempts = Recorder<Int>()
        let cancelled = Recorder<Int>()
        // A lease long enough that its heartbeat (every 200 ms) keeps it on a starved
        // machine; the second attempt still outlasts it.
        var configuration = testConfiguration(queues: ["q"])
        configuration.lease = .seconds(5)
        let runtime = JobRuntime(database: fixture.database, configuration: configuration, handlers: [
            "slow": { job in
                attempts.append(job.attempt)
                do {
                    // The first attempt runs until cancelled; the second outlasts the
                    // 5 s lease, so it completes only if its own heartbeat kept it.
                    try await Task.sleep(for: job.attempt == 1 ? .seconds(60) : .seconds(7))
                } catch {
                    cancelled.append(job.attempt)
                    throw error
                }
                return .completed
            },
        ])
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { attempts.count == 1 })
        // Rescue the running attempt as the leader does once a lease lapsed, in one
        // transaction so that no heartbeat renews it in between.
        try await fixture.connection.transaction { tx in
            try await tx.query("UPDATE queue_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", id)
            _ = try await QueueMaintenance.rescueExpired(on: tx)
        }
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .completed })
        try await running.stop()
        #expect(attempts.all == [1, 2])
        #expect(cancelled.all == [1])
        #expect(runtime.statistics.completed == 1)
        #expect(try await JobQueue.record(id, on: fixture.connection)?.attempt == 2)
    }
}

@Suite("Runtime under swift-service-lifecycle")
struct ServiceLifecycleTests {
    @Test("a graceful shutdown of the ServiceGroup drains the runtime and gives jobs back")
    func serviceGroupShutdown() async throws {
        let fixture = try await QueueFixture.make("lifecycle")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "long"), on: fixture.connection).id
        var configuration = testConfiguration(queues: ["q"])
        configuration.shutdownGracePeriod = .milliseconds(100)
        let runtime = JobRuntime(database: fixture.database, configuration: configuration, handlers: [
            "long": { _ in try await Task.sleep(for: .seconds(60)); return .completed },
        ])
        let group = ServiceGroup(configuration: .init(services: [runtime], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .running })
        await group.triggerGracefulShutdown()
        try await running.value
        let record = try #require(try await JobQueue.record(id, on: fixture.connection))
        #expect(record.state == .available)
        #expect(record.attempt == 0)
    }
}
