import Foundation
import PostgresClient
import QueueCore
import Synchronization
import Testing

/// The database backends of the runtimes working on `database` (application name
/// `queue-worker`), seen through `connection`.
private func runtimeBackends(_ fixture: QueueFixture) async throws -> [Int32] {
    try await fixture.connection.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'queue-worker'",
        fixture.database.database ?? "").map { try $0.decode(0, as: Int32.self) }
}

@Suite("Self-fencing and stuck handlers")
struct SelfFencingTests {
    @Test("a runtime that cannot renew its leases cancels their handlers before the leases lapse, drops their outcomes, and the job is rescued and run once more")
    func unrenewableLeasesAreFenced() async throws {
        let fixture = try await QueueFixture.make("self_fencing")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "long"), on: fixture.connection).id
        let cancelledAt = Mutex<Date?>(nil)
        let attempts = Recorder<Int>()
        var configuration = testConfiguration(queues: ["q"])
        configuration.lease = .seconds(3)
        configuration.heartbeatInterval = .milliseconds(300)
        // One pooled session, open and frozen below with the others: a pool with room
        // would open a fresh, unfrozen session for the heartbeat (a partition would not).
        configuration.connections = 1
        // Named so that `runtimeBackends` finds the runtime's sessions.
        var database = fixture.database
        database.applicationName = "queue-worker"
        let runtime = JobRuntime(database: database, configuration: configuration, handlers: [
            "long": { job in
                attempts.append(job.attempt)
                guard job.attempt == 1 else { return .completed }
                do { try await Task.sleep(for: .seconds(60)) } catch { cancelledAt.withLock { $0 = Date() }; throw error }
                return .completed
            },
        ])
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .running })
        try await Task.sleep(for: .milliseconds(500))
        // Freeze every session of the runtime: its heartbeats, claims and commits hang
        // as they would behind a network partition.
        let backends = try await runtimeBackends(fixture)
        guard !backends.isEmpty, backends.allSatisfy({ kill($0, SIGSTOP) == 0 }) else {
            backends.forEach { kill($0, SIGCONT) }
            print("skipped: cannot signal PostgreSQL's processes from this user")
            try await running.stop()
            return
        }
        let frozenAt = Date()
        let leaseEnd = try await fixture.connection.query("SELECT lease_expires_at FROM queue_jobs WHERE id = $1", id)
            .first!.decode(0, as: Date.self)
        let fenced = await eventually(timeout: .seconds(10)) { cancelledAt.withLock { $0 } != nil }
        backends.forEach { kill($0, SIGCONT) }
        #expect(fenced, "the handler was cancelled")
        if let at = cancelledAt.withLock({ $0 }) {
            #expect(at < leaseEnd, "cancelled at \(at), before the lease lapsed at \(leaseEnd)")
            #expect(at.timeIntervalSince(frozenAt) < 3.5)
        }
        // The lease lapses, the leader (this runtime, once its sessions come back or are
        // replaced) rescues the job, and the second attempt completes it.
        #expect(await eventually(timeout: .seconds(30)) { try await JobQueue.record(id, on: fixture.connection)?.state == .completed })
        try await running.stop()
        #expect(attempts.all == [1, 2])
        #expect(runtime.statistics.fenced == 1)
        #expect(runtime.statistics.completed == 1)
        let errors = try await fixture.connection.query("SELECT errors::text FROM queue_job_archive WHERE id = $1", id).first?.decode(0, as: String.self) ?? ""
        #expect(errors.contains("lease expired"))
    }

    @Test("the lease horizon is published for out-of-process handlers: ahead of now while heartbeats renew, nil when nothing is held")
    func leaseHorizonIsPublished() async throws {
        let fixture = try await QueueFixture.make("lease_horizon")
        defer { Task { await fixture.close() } }
        let horizons = Recorder<Date?>()
        var configuration = testConfiguration(queues: ["q"])
        configuration.onLeaseHorizon = { horizons.append($0) }
        let release = Atomic<Bool>(false)
        let runtime = JobRuntime(database: fixture.database, configuration: configuration, handlers: [
            "wait": { _ in
                while !release.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(20)) }
                return .completed
            },
        ])
        let running = RunningRuntime.start(runtime)
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "wait"), on: fixture.connection).id
        #expect(await eventually { horizons.count >= 5 }, "claims and heartbeats publish the horizon")
        let latest = try #require(horizons.all.last ?? nil)
        // Lease 2 s, fencing margin 0.5 s: about 1.5 s ahead after each heartbeat.
        #expect(latest > Date() && latest < Date().addingTimeInterval(2))
        release.store(true, ordering: .sequentiallyConsistent)
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .completed })
        try await running.stop()
        #expect(horizons.all.last! == nil, "nothing held at the end")
    }

    @Test("a handler that ignores its time limit and cancellation is counted as stuck until it returns")
    func stuckHandlersAreCounted() async throws {
        let fixture = try await QueueFixture.make("stuck_handlers")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "stubborn", maxAttempts: 1, timeLimit: .milliseconds(100)), on: fixture.connection).id
        let returned = Atomic<Bool>(false)
        let runtime = JobRuntime(database: fixture.database, configuration: testConfiguration(queues: ["q"], slots: 1), handlers: [
            "stubborn": { _ in
                // Waits 6 s without ever checking for cancellation.
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 6) { continuation.resume() }
                }
                returned.store(true, ordering: .sequentiallyConsistent)
                return .completed
            },
        ])
        let running = RunningRuntime.start(runtime)
        #expect(await eventually { try await JobQueue.record(id, on: fixture.connection)?.state == .discarded })
        #expect(runtime.statistics.stuckHandlers == 0, "not stuck yet: just cancelled")
        #expect(await eventually(timeout: .seconds(5)) { runtime.statistics.stuckHandlers == 1 })
        #expect(returned.load(ordering: .sequentiallyConsistent) == false)
        #expect(await eventually(timeout: .seconds(10)) { runtime.statistics.stuckHandlers == 0 && returned.load(ordering: .sequentiallyConsistent) })
        try await running.stop()
    }
}
