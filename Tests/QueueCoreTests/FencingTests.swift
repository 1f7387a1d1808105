import Foundation
import PostgresClient
import QueueCore
import Testing

@Suite("Leases, fencing, retries and control")
struct FencingTests {
    @Test("a worker whose lease was rescued cannot complete; only one resolution-like write exists")
    func lostLeaseIsFenced() async throws {
        let fixture = try await QueueFixture.make("fenced")
        defer { Task { await fixture.close() } }
        try await fixture.connection.executeScript("CREATE TABLE fake_resolutions (job_id bigint, worker text)")
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection).id
        let first = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .milliseconds(100), worker: "slow", on: fixture.connection)[0]
        try await Task.sleep(for: .milliseconds(200))
        let rescue = try await QueueMaintenance.rescueExpired(on: fixture.connection)
        #expect(rescue.rescued == 1)
        let second = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "fast", on: fixture.connection)[0]
        #expect(second.id == id)
        #expect(second.attempt == 2)
        #expect(second.leaseToken != first.leaseToken)

        func resolve(_ job: Job, as worker: String) async throws -> Bool {
            try await fixture.connection.transaction { tx in
                let done = try await JobQueue.complete([job.lease], on: tx)
                guard done.contains(job.id) else { return false }
                try await tx.query("INSERT INTO fake_resolutions VALUES ($1, $2)", job.id, worker)
                return true
            }
        }
        #expect(try await resolve(second, as: "fast"))
        #expect(try await resolve(first, as: "slow") == false)
        #expect(try await fixture.count("SELECT count(*) FROM fake_resolutions") == 1)
        #expect(try await fixture.connection.query("SELECT worker FROM fake_resolutions").first?.decode(0, as: String.self) == "fast")
        // The first worker's heartbeat and failure are refused too.
        #expect(try await JobQueue.extendLeases([first.lease], by: .seconds(30), on: fixture.connection).isEmpty)
        #expect(try await JobQueue.fail([.init(lease: first.lease, error: "late", retryDelay: .zero)], on: fixture.connection).isEmpty)
        let record = try #require(try await JobQueue.record(id, on: fixture.connection))
        #expect(record.state == .completed)
        #expect(record.errors.count == 1)
        #expect(record.errors[0].error.contains("lease expired"))
    }

    @Test("failures retry with their delay and discard after max attempts, keeping every error")
    func retriesThenDiscard() async throws {
        let fixture = try await QueueFixture.make("discard")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", maxAttempts: 3), on: fixture.connection).id
        for attempt in 1...3 {
            let job = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)[0]
            #expect(job.attempt == attempt)
            let states = try await JobQueue.fail([.init(lease: job.lease, error: "boom \(attempt)", retryDelay: .milliseconds(50))], on: fixture.connection)
            #expect(states[id] == (attempt < 3 ? .retryable : .discarded))
            if attempt < 3 {
                // Not claimable before its backoff has passed.
                #expect(try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection).isEmpty)
                try await Task.sleep(for: .milliseconds(80))
                #expect(try await QueueMaintenance.promoteDue(on: fixture.connection).promoted == 1)
            }
        }
        let record = try #require(try await JobQueue.record(id, on: fixture.connection))
        #expect(record.state == .discarded)
        #expect(record.errors.map(\.error) == ["boom 1", "boom 2", "boom 3"])
        #expect(record.errors.map(\.attempt) == [1, 2, 3])
        #expect(record.finishedAt != nil)
        // An operator can retry it.
        try await JobQueue.retry(id, on: fixture.connection)
        let again = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)
        #expect(again.first?.attempt == 1)
    }

    @Test("snooze reschedules without consuming the attempt")
    func snooze() async throws {
        let fixture = try await QueueFixture.make("snooze")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection).id
        let job = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)[0]
        #expect(try await JobQueue.snooze([job.lease], for: .seconds(60), on: fixture.connection) == [id])
        let record = try #require(try await JobQueue.record(id, on: fixture.connection))
        #expect(record.state == .scheduled)
        #expect(record.attempt == 0)
    }

    @Test("cancelling a job: a waiting one is never claimed, a running one's completion is refused")
    func cancel() async throws {
        let fixture = try await QueueFixture.make("cancel")
        defer { Task { await fixture.close() } }
        let waiting = try await JobQueue.enqueue(NewJob(queue: "w", kind: "k"), on: fixture.connection).id
        try await JobQueue.cancel(waiting, on: fixture.connection)
        #expect(try await JobQueue.claim(queues: ["w"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection).isEmpty)
        await #expect(throws: QueueError.self) { try await JobQueue.cancel(waiting, on: fixture.connection) }
        await #expect(throws: QueueError.self) { try await JobQueue.cancel(999_999, on: fixture.connection) }

        let running = try await JobQueue.enqueue(NewJob(queue: "r", kind: "k"), on: fixture.connection).id
        let job = try await JobQueue.claim(queues: ["r"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)[0]
        try await JobQueue.cancel(running, on: fixture.connection)
        #expect(try await JobQueue.complete([job.lease], on: fixture.connection).isEmpty)
        #expect(try await JobQueue.record(running, on: fixture.connection)?.state == .cancelled)
    }

    @Test("shutdown give-back returns a job without consuming its attempt")
    func giveBack() async throws {
        let fixture = try await QueueFixture.make("giveback")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection).id
        let job = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)[0]
        #expect(try await JobQueue.giveBack([job.lease], on: fixture.connection) == [id])
        let record = try #require(try await JobQueue.record(id, on: fixture.connection))
        #expect(record.state == .available)
        #expect(record.attempt == 0)
    }

    @Test("only one of several candidates is the maintenance leader, until it resigns")
    func leaderElection() async throws {
        let fixture = try await QueueFixture.make("leader")
        defer { Task { await fixture.close() } }
        #expect(try await QueueMaintenance.elect(holder: "a", ttl: .seconds(10), on: fixture.connection))
        #expect(try await QueueMaintenance.elect(holder: "b", ttl: .seconds(10), on: fixture.connection) == false)
        #expect(try await QueueMaintenance.elect(holder: "a", ttl: .seconds(10), on: fixture.connection))
        try await QueueMaintenance.resign(holder: "a", on: fixture.connection)
        #expect(try await QueueMaintenance.elect(holder: "b", ttl: .milliseconds(100), on: fixture.connection))
        try await Task.sleep(for: .milliseconds(150))
        #expect(try await QueueMaintenance.elect(holder: "c", ttl: .seconds(10), on: fixture.connection))
    }

    @Test("pruning removes completed jobs past their retention")
    func prune() async throws {
        let fixture = try await QueueFixture.make("prune")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue((0..<5).map { _ in NewJob(queue: "q", kind: "k") }, on: fixture.connection)
        let jobs = try await JobQueue.claim(queues: ["q"], limit: 5, lease: .seconds(30), worker: "w", on: fixture.connection)
        try await JobQueue.complete(jobs.map(\.lease), on: fixture.connection)
        #expect(try await QueueMaintenance.prune(completedRetention: .seconds(3600), finishedRetention: .seconds(3600), on: fixture.connection).deleted == 0)
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await QueueMaintenance.prune(completedRetention: .milliseconds(10), finishedRetention: .seconds(3600), on: fixture.connection).deleted == 5)
    }

    @Test("one pruning pass clears a backlog many batches deep, so the archive stays bounded at any throughput")
    func pruneKeepsUp() async throws {
        let fixture = try await QueueFixture.make("prune_backlog")
        defer { Task { await fixture.close() } }
        // 100,000 completed jobs past their retention, as a day at ~1.2 jobs/s would leave —
        // ten times what one batch deletes.
        try await fixture.connection.query("""
            INSERT INTO queue_job_archive (id, queue, kind, payload, priority, state, attempt, max_attempts, errors, created_at, finished_at)
            SELECT n, 'q', 'k', '{}', 0, 'completed', 1, 10, '[]', now() - interval '3 days', now() - interval '2 days'
            FROM generate_series(1, 100000) AS n
            """)
        let result = try await QueueMaintenance.prune(
            completedRetention: .seconds(24 * 3600), finishedRetention: .seconds(7 * 24 * 3600), timeBudget: .seconds(120), on: fixture.connection)
        #expect(result == .init(deleted: 100_000, caughtUp: true))
        #expect(try await fixture.connection.query("SELECT count(*) FROM queue_job_archive").first?.decode(0, as: Int.self) == 0)
        // With no time to spare it stops after the first batches and says so.
        try await fixture.connection.query("""
            INSERT INTO queue_job_archive (id, queue, kind, payload, priority, state, attempt, max_attempts, errors, created_at, finished_at)
            SELECT n, 'q', 'k', '{}', 0, 'completed', 1, 10, '[]', now() - interval '3 days', now() - interval '2 days'
            FROM generate_series(200001, 230000) AS n
            """)
        let hurried = try await QueueMaintenance.prune(
            completedRetention: .seconds(24 * 3600), finishedRetention: .seconds(7 * 24 * 3600), timeBudget: .zero, on: fixture.connection)
        #expect(hurried == .init(deleted: 10_000, caughtUp: false))
    }
}

@Suite("Retry strategy")
struct RetryStrategyTests {
    @Test("exponential backoff doubles from its base and stops at its cap")
    func exponential() {
        let strategy = RetryStrategy.exponentialJitter(base: .seconds(1), factor: 2, maximum: .seconds(10), jitter: 0)
        #expect((1...6).map { strategy.delay(afterAttempt: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
    }

    @Test("jitter spreads delays within its bounds")
    func jitterBounds() {
        let strategy = RetryStrategy.exponentialJitter(base: .seconds(4), factor: 2, maximum: .seconds(3600), jitter: 0.25)
        let delays = (0..<200).map { _ in strategy.delay(afterAttempt: 1) }
        #expect(delays.allSatisfy { $0 >= .seconds(3) && $0 <= .seconds(5) })
        #expect(Set(delays).count > 10)
    }

    @Test("the default starts at one second")
    func defaults() {
        let first = RetryStrategy.default.delay(afterAttempt: 1)
        #expect(first >= .milliseconds(800) && first <= .milliseconds(1200))
        #expect(RetryStrategy.constant(.seconds(3)).delay(afterAttempt: 9) == .seconds(3))
    }
}

@Suite("Fencing by token, not only by id")
struct TokenFencingTests {
    @Test("two reports of the same job in one batch — a stale attempt and the current one — complete only the current")
    func staleAndCurrentInOneBatch() async throws {
        let fixture = try await QueueFixture.make("token_fence")
        defer { Task { await fixture.close() } }
        let id = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection).id
        let stale = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .milliseconds(50), worker: "w", on: fixture.connection)[0]
        try await Task.sleep(for: .milliseconds(100))
        _ = try await QueueMaintenance.rescueExpired(on: fixture.connection)
        let current = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)[0]
        #expect(current.id == id && stale.id == id)
        let completed = try await JobQueue.completeLeases([stale.lease, current.lease], on: fixture.connection)
        #expect(completed == [current.lease])
    }

    @Test("a stale failure report is refused while the current attempt's is recorded")
    func staleFailure() async throws {
        let fixture = try await QueueFixture.make("token_fence_fail")
        defer { Task { await fixture.close() } }
        _ = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let stale = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .milliseconds(50), worker: "w", on: fixture.connection)[0]
        try await Task.sleep(for: .milliseconds(100))
        _ = try await QueueMaintenance.rescueExpired(on: fixture.connection)
        let current = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)[0]
        let states = try await JobQueue.failLeases([
            .init(lease: stale.lease, error: "late", retryDelay: .zero),
            .init(lease: current.lease, error: "now", retryDelay: .seconds(60)),
        ], on: fixture.connection)
        #expect(Array(states.keys) == [current.lease])
        #expect(states[current.lease] == .retryable)
    }
}
