import Foundation
import PostgresClient
import QueueCore
import Testing

@Suite("Enqueue and claim")
struct EnqueueAndClaimTests {
    @Test("a job is claimed once with a fresh lease, then nothing is left")
    func claimOnce() async throws {
        let fixture = try await QueueFixture.make("claim_once")
        defer { Task { await fixture.close() } }
        let enqueued = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", payload: #"{"n": 1}"#), on: fixture.connection)
        #expect(enqueued.inserted)
        let jobs = try await JobQueue.claim(queues: ["q"], limit: 10, lease: .seconds(30), worker: "w1", on: fixture.connection)
        #expect(jobs.map(\.id) == [enqueued.id])
        #expect(jobs[0].attempt == 1)
        #expect(jobs[0].payload == #"{"n": 1}"#)
        #expect(jobs[0].leaseExpiresAt > Date())
        #expect(try await JobQueue.claim(queues: ["q"], limit: 10, lease: .seconds(30), worker: "w2", on: fixture.connection).isEmpty)
    }

    @Test("higher priority is claimed first, then older jobs")
    func priorities() async throws {
        let fixture = try await QueueFixture.make("priorities")
        defer { Task { await fixture.close() } }
        let low = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", priority: 0), on: fixture.connection)
        let high = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", priority: 5), on: fixture.connection)
        let low2 = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", priority: 0), on: fixture.connection)
        let first = try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)
        #expect(first.map(\.id) == [high.id])
        let rest = try await JobQueue.claim(queues: ["q"], limit: 5, lease: .seconds(30), worker: "w", on: fixture.connection)
        #expect(rest.map(\.id) == [low.id, low2.id])
    }

    @Test("a scheduled job is not claimed before its time, and is promoted once due")
    func scheduled() async throws {
        let fixture = try await QueueFixture.make("scheduled")
        defer { Task { await fixture.close() } }
        // An hour ahead: no machine is slow enough to reach it during the test.
        let later = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", runAt: Date().addingTimeInterval(3_600)), on: fixture.connection)
        #expect(try await JobQueue.claim(queues: ["q"], limit: 5, lease: .seconds(30), worker: "w", on: fixture.connection).isEmpty)
        #expect(try await QueueMaintenance.promoteDue(on: fixture.connection).promoted == 0)
        // Its time comes (moved, rather than waited for).
        try await fixture.connection.query("UPDATE queue_jobs SET run_at = now() - interval '1 second' WHERE id = $1", later.id)
        let promoted = try await QueueMaintenance.promoteDue(on: fixture.connection)
        #expect(promoted.promoted == 1)
        #expect(promoted.wokenQueues == ["q"])
        #expect(try await JobQueue.claim(queues: ["q"], limit: 5, lease: .seconds(30), worker: "w", on: fixture.connection).map(\.id) == [later.id])
    }

    @Test("a repeated enqueue with the same unique key returns the existing job, until it completes")
    func uniqueKeys() async throws {
        let fixture = try await QueueFixture.make("unique")
        defer { Task { await fixture.close() } }
        let first = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", uniqueKey: "case-42"), on: fixture.connection)
        let again = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", uniqueKey: "case-42"), on: fixture.connection)
        #expect(first.inserted)
        #expect(!again.inserted)
        #expect(again.id == first.id)
        // In one batch: duplicates inside the batch and against the table, mixed with plain jobs.
        let batch = try await JobQueue.enqueue([
            NewJob(queue: "q", kind: "k"),
            NewJob(queue: "q", kind: "k", uniqueKey: "case-42"),
            NewJob(queue: "q", kind: "k", uniqueKey: "case-43"),
            NewJob(queue: "q", kind: "k", uniqueKey: "case-43"),
            NewJob(queue: "q", kind: "k"),
        ], on: fixture.connection)
        #expect(batch.map(\.inserted) == [true, false, true, false, true])
        #expect(batch[1].id == first.id)
        #expect(batch[2].id == batch[3].id)
        #expect(batch[0].id < batch[4].id)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 4)
        // Once completed, the key is free again.
        let claimed = try await JobQueue.claim(queues: ["q"], limit: 10, lease: .seconds(30), worker: "w", on: fixture.connection)
        try await JobQueue.complete(claimed.map(\.lease), on: fixture.connection)
        let fresh = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", uniqueKey: "case-42"), on: fixture.connection)
        #expect(fresh.inserted)
        #expect(fresh.id != first.id)
    }

    @Test("enqueue joins the caller's transaction and rolls back with it")
    func enqueueInCallerTransaction() async throws {
        struct Abort: Error {}
        let fixture = try await QueueFixture.make("in_tx")
        defer { Task { await fixture.close() } }
        await #expect(throws: Abort.self) {
            try await fixture.connection.transaction { tx in
                try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: tx)
                throw Abort()
            }
        }
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 0)
    }

    @Test("thousands of jobs enqueue in one call and by COPY, in order")
    func bulk() async throws {
        let fixture = try await QueueFixture.make("bulk")
        defer { Task { await fixture.close() } }
        let jobs = (0..<12_000).map { NewJob(queue: "bulk", kind: "k", payload: "{\"n\": \($0)}") }
        let results = try await JobQueue.enqueue(jobs, on: fixture.connection)
        #expect(results.count == 12_000)
        #expect(results.map(\.id) == results.map(\.id).sorted())
        let n = try await fixture.connection.query("SELECT (payload->>'n')::int FROM queue_jobs WHERE id = $1", results[7_777].id)
        #expect(try n.first?.decode(0, as: Int.self) == 7_777)
        let copied = try await JobQueue.copy((0..<5_000).map { NewJob(queue: "copied", kind: "k", payload: "{\"n\": \($0)}", runAt: $0 == 0 ? Date().addingTimeInterval(3600) : nil) }, on: fixture.connection)
        #expect(copied == 5_000)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs WHERE queue = 'copied' AND state = 'available'") == 4_999)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs WHERE queue = 'copied' AND state = 'scheduled'") == 1)
    }

    @Test("invalid jobs are refused with a reason")
    func invalidJobs() async throws {
        let fixture = try await QueueFixture.make("invalid")
        defer { Task { await fixture.close() } }
        await #expect(throws: QueueError.self) { try await JobQueue.enqueue(NewJob(queue: "", kind: "k"), on: fixture.connection) }
        await #expect(throws: QueueError.self) { try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", maxAttempts: 0), on: fixture.connection) }
        await #expect(throws: PostgresError.self) { try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", payload: "{not json"), on: fixture.connection) }
        await #expect(throws: QueueError.self) { try await JobQueue.copy([NewJob(queue: "q", kind: "k", uniqueKey: "x")], on: fixture.connection) }
    }

    @Test("one claim serves several queues, skipping paused ones until resumed")
    func pauseAndResume() async throws {
        let fixture = try await QueueFixture.make("pause")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue([NewJob(queue: "a", kind: "k"), NewJob(queue: "b", kind: "k")], on: fixture.connection)
        try await JobQueue.pause("a", on: fixture.connection)
        try await JobQueue.pause("a", on: fixture.connection)
        #expect(try await JobQueue.pausedQueues(on: fixture.connection) == ["a"])
        let first = try await JobQueue.claim(queues: ["a", "b"], limit: 10, lease: .seconds(30), worker: "w", on: fixture.connection)
        #expect(first.map(\.queue) == ["b"])
        try await JobQueue.resume("a", on: fixture.connection)
        let second = try await JobQueue.claim(queues: ["a", "b"], limit: 10, lease: .seconds(30), worker: "w", on: fixture.connection)
        #expect(second.map(\.queue) == ["a"])
    }

    @Test("counts per queue and state include the archive")
    func counts() async throws {
        let fixture = try await QueueFixture.make("counts")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue((0..<3).map { _ in NewJob(queue: "q", kind: "k") }, on: fixture.connection)
        let claimed = try await JobQueue.claim(queues: ["q"], limit: 2, lease: .seconds(30), worker: "w", on: fixture.connection)
        try await JobQueue.complete([claimed[0].lease], on: fixture.connection)
        let counts = try await JobQueue.counts(on: fixture.connection)
        #expect(counts.contains(QueueCount(queue: "q", state: .available, jobs: 1)))
        #expect(counts.contains(QueueCount(queue: "q", state: .running, jobs: 1)))
        #expect(counts.contains(QueueCount(queue: "q", state: .completed, jobs: 1)))
    }
}
