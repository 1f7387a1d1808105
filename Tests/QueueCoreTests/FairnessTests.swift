import Foundation
import PostgresClient
import QueueCore
import Testing

/// Per-key fairness (`concurrencyKey`): the claim order interleaves keys.
@Suite("Per-key fairness")
struct FairnessTests {
    static func claimOne(_ fixture: QueueFixture) async throws -> Job? {
        try await JobQueue.claim(queues: ["q"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection).first
    }

    /// The keys of the jobs in claim order, one claim at a time.
    static func claimOrder(_ fixture: QueueFixture, _ count: Int) async throws -> [String] {
        var keys: [String] = []
        for _ in 0..<count {
            guard let job = try await claimOne(fixture) else { break }
            keys.append(String(job.payload.filter(\.isLetter)))
        }
        return keys
    }

    static func job(_ key: String) -> NewJob {
        NewJob(queue: "q", kind: "k", payload: "\"\(key)\"", concurrencyKey: key)
    }

    @Test("a key that floods the queue with 10,000 jobs cannot starve a key that comes later: the claims interleave them")
    func floodDoesNotStarve() async throws {
        let fixture = try await QueueFixture.make("fair_flood")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue((0..<10_000).map { _ in Self.job("flood") }, on: fixture.connection)
        let late = try await JobQueue.enqueue((0..<100).map { _ in Self.job("late") }, on: fixture.connection)
        let lateIDs = Set(late.map(\.id))

        var claims = 0
        var lateLeft = lateIDs
        while !lateLeft.isEmpty {
            let batch = try await JobQueue.claim(queues: ["q"], limit: 10, lease: .seconds(30), worker: "w", on: fixture.connection)
            #expect(!batch.isEmpty)
            guard !batch.isEmpty else { break }
            claims += batch.count
            lateLeft.subtract(batch.map(\.id))
        }
        // One flood job, one late job, and so on: all 100 within the first 200 claimed
        // (without keys they would come after all 10,000).
        #expect(claims <= 200)
    }

    @Test("keys that arrive together alternate; a key's jobs keep their own order")
    func keysAlternate() async throws {
        let fixture = try await QueueFixture.make("fair_alternate")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue([Self.job("a"), Self.job("a"), Self.job("a"), Self.job("b"), Self.job("b"), Self.job("c")],
                                   on: fixture.connection)
        #expect(try await Self.claimOrder(fixture, 6) == ["a", "b", "c", "a", "b", "a"])
    }

    @Test("a key that comes back later starts at the head of the queue, not ahead of it: idle time earns no credit")
    func noCreditForIdleKeys() async throws {
        let fixture = try await QueueFixture.make("fair_no_credit")
        defer { Task { await fixture.close() } }
        // "b" ran a job long ago.
        try await JobQueue.enqueue(Self.job("b"), on: fixture.connection)
        let old = try #require(try await Self.claimOne(fixture))
        try await JobQueue.complete([old.lease], on: fixture.connection)
        try await JobQueue.enqueue((0..<4).map { _ in Self.job("a") }, on: fixture.connection)
        // Two of "a" run; then "b" comes back with three jobs.
        _ = try await Self.claimOrder(fixture, 2)
        try await JobQueue.enqueue((0..<3).map { _ in Self.job("b") }, on: fixture.connection)
        #expect(try await Self.claimOrder(fixture, 5) == ["a", "b", "a", "b", "b"])
    }

    @Test("priority still comes first, and jobs without a key keep their order: priority, then run_at, then id")
    func priorityAndPlainJobs() async throws {
        let fixture = try await QueueFixture.make("fair_priority")
        defer { Task { await fixture.close() } }
        let past = Date().addingTimeInterval(-60)
        try await JobQueue.enqueue((0..<3).map { _ in Self.job("flood") }, on: fixture.connection)
        let urgent = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", payload: "\"urgent\"", priority: 5), on: fixture.connection)
        let plainLater = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", payload: "\"plain\"", runAt: past.addingTimeInterval(1)),
                                                    on: fixture.connection)
        let plainEarlier = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", payload: "\"plain\"", runAt: past), on: fixture.connection)
        #expect(try await Self.claimOne(fixture)?.id == urgent.id)
        #expect(try await Self.claimOne(fixture)?.id == plainEarlier.id, "plain jobs sort by run_at, as before")
        #expect(try await Self.claimOne(fixture)?.id == plainLater.id)
        #expect(try await Self.claimOrder(fixture, 3) == ["flood", "flood", "flood"])
        let record = try await JobQueue.record(urgent.id, on: fixture.connection)
        #expect(record?.concurrencyKey == nil)
    }

    @Test("a keyed job's retry keeps its place but never sorts before it is due")
    func retriedKeyedJob() async throws {
        let fixture = try await QueueFixture.make("fair_retry")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue([Self.job("a"), Self.job("b")], on: fixture.connection)
        let first = try #require(try await Self.claimOne(fixture))
        try await JobQueue.fail([JobQueue.Failure(lease: first.lease, error: "later", retryDelay: .seconds(3_600))], on: fixture.connection)
        // Due (moved rather than waited for) and promoted: it sorts by its retry time, after "b".
        try await fixture.connection.query("UPDATE queue_jobs SET run_at = now() - interval '1 second' WHERE id = $1", first.id)
        #expect(try await QueueMaintenance.promoteDue(on: fixture.connection).promoted == 1)
        let fairAt = try await fixture.connection.query(
            "SELECT fair_at > now() FROM queue_jobs WHERE id = $1", first.id).firstRow().decode(0, as: Bool.self)
        #expect(fairAt, "its place moved to when the retry was due")
        #expect(try await Self.claimOrder(fixture, 2) == ["b", "a"])
    }
}
