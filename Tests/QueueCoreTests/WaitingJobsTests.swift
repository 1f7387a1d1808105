import Foundation
import PostgresClient
import PostgresTestSupport
import QueueCore
import Testing

/// Jobs that wait for an event (a signal of their key) or a time, without a worker.
@Suite("Waiting jobs")
struct WaitingJobsTests {
    static func claim(_ fixture: QueueFixture, _ queue: String = "q", limit: Int = 10) async throws -> [Job] {
        try await JobQueue.claim(queues: [queue], limit: limit, lease: .seconds(30), worker: "w", on: fixture.connection)
    }

    @Test("a handler that waits gives its slot up without consuming an attempt, and runs again with the signal's data")
    func handlerWaitsForASignal() async throws {
        let fixture = try await QueueFixture.make("wait_signal")
        defer { Task { await fixture.close() } }
        let seen = Recorder<(attempt: Int, wakeup: JobWakeup?)>()
        // One slot: the plain job enqueued behind the waiting one can only run if the
        // waiting job does not hold it.
        let runtime = JobRuntime(database: fixture.database, configuration: testConfiguration(queues: ["q"], slots: 1), handlers: [
            "payment": { job in
                seen.append((job.attempt, job.wakeup))
                return job.wakeup == nil ? .wait(for: "order:7") : .completed
            },
            "plain": { _ in .completed },
        ])
        let running = RunningRuntime.start(runtime)
        let waiting = try await JobQueue.enqueue(NewJob(queue: "q", kind: "payment"), on: fixture.connection)
        #expect(await eventually { try await JobQueue.record(waiting.id, on: fixture.connection)?.state == .waiting })
        let plain = try await JobQueue.enqueue(NewJob(queue: "q", kind: "plain"), on: fixture.connection)
        #expect(await eventually { try await JobQueue.record(plain.id, on: fixture.connection)?.state == .completed })
        let record = try #require(try await JobQueue.record(waiting.id, on: fixture.connection))
        #expect(record.state == .waiting)
        #expect(record.attempt == 0, "waiting does not consume the attempt")
        #expect(record.waitKey == "order:7")
        #expect(record.lockedBy == nil)

        // A signal in a transaction that rolls back wakes nothing; the committed one does.
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await fixture.connection.transaction { tx in
                #expect(try await JobQueue.signal("order:7", data: #"{"paid": false}"#, on: tx) == 1)
                throw Abort()
            }
        }
        #expect(try await JobQueue.record(waiting.id, on: fixture.connection)?.state == .waiting)
        let woken = try await fixture.connection.transaction { tx in
            try await JobQueue.signal("order:7", data: #"{"paid": true}"#, on: tx)
        }
        #expect(woken == 1)
        #expect(await eventually { try await JobQueue.record(waiting.id, on: fixture.connection)?.state == .completed })
        try await running.stop()

        #expect(seen.all.map(\.attempt) == [1, 1], "the run after the wait is still the first attempt")
        #expect(seen.all.last?.wakeup == JobWakeup(key: "order:7", reason: .signal, data: #"{"paid": true}"#))
        #expect(runtime.statistics.waited == 1)
    }

    @Test("a job enqueued waiting is not claimed until a signal of its key; the signal wakes every job waiting for that key and no other")
    func enqueueWaiting() async throws {
        let fixture = try await QueueFixture.make("wait_enqueue")
        defer { Task { await fixture.close() } }
        let first = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", waitFor: "invoice:1"), on: fixture.connection)
        let second = try await JobQueue.enqueue(NewJob(queue: "other", kind: "k", waitFor: "invoice:1"), on: fixture.connection)
        let unrelated = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", waitFor: "invoice:2"), on: fixture.connection)
        #expect(try await Self.claim(fixture).isEmpty)
        #expect(try await JobQueue.signal("nobody-waits", on: fixture.connection) == 0, "a signal nobody waits for is no error")

        #expect(try await JobQueue.signal("invoice:1", on: fixture.connection) == 2)
        let claimed = try await Self.claim(fixture)
        #expect(claimed.map(\.id) == [first.id])
        #expect(claimed.first?.wakeup == JobWakeup(key: "invoice:1", reason: .signal, data: nil))
        #expect(try await Self.claim(fixture, "other").map(\.id) == [second.id])
        #expect(try await JobQueue.record(unrelated.id, on: fixture.connection)?.state == .waiting)
        #expect(try await JobQueue.signal("invoice:1", on: fixture.connection) == 0, "a signal is not kept: the woken jobs do not wait any more")
    }

    @Test("a wait whose timeout passed is made available by the maintenance pass, marked timed out")
    func timeout() async throws {
        let fixture = try await QueueFixture.make("wait_timeout")
        defer { Task { await fixture.close() } }
        // An hour ahead: nothing promotes it during the test until its time is moved.
        let job = try await JobQueue.enqueue(
            NewJob(queue: "q", kind: "k", waitFor: "reply:9", waitUntil: Date().addingTimeInterval(3_600)), on: fixture.connection)
        let maintainer = try await PostgresConnection.connect(
            try await TestDatabase.login(["taskforce_maintainer"], on: fixture.database).configuration)
        defer { Task { await maintainer.close() } }
        #expect(try await QueueMaintenance.promoteTimedOut(on: maintainer).promoted == 0)
        try await fixture.connection.query("UPDATE queue_jobs SET wait_until = now() - interval '1 second' WHERE id = $1", job.id)

        let promoted = try await QueueMaintenance.promoteTimedOut(on: maintainer)
        #expect(promoted.promoted == 1)
        #expect(promoted.wokenQueues == ["q"])
        let claimed = try await Self.claim(fixture)
        #expect(claimed.map(\.id) == [job.id])
        #expect(claimed.first?.wakeup == JobWakeup(key: "reply:9", reason: .timeout, data: nil))
        #expect(try await JobQueue.signal("reply:9", on: fixture.connection) == 0, "a late signal finds nothing waiting")
    }

    @Test("the runtime's maintenance leader promotes timed-out waits, and the handler learns it timed out")
    func timeoutThroughTheLeader() async throws {
        let fixture = try await QueueFixture.make("wait_timeout_leader")
        defer { Task { await fixture.close() } }
        let seen = Recorder<JobWakeup?>()
        let runtime = JobRuntime(database: fixture.database, configuration: testConfiguration(queues: ["q"]), handlers: [
            "k": { job in
                seen.append(job.wakeup)
                // Waits with a timeout already past: only the leader's promotion wakes it.
                return job.wakeup == nil ? .wait(for: "never-signalled", until: Date().addingTimeInterval(-1)) : .completed
            },
        ])
        let running = RunningRuntime.start(runtime)
        let job = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        #expect(await eventually { try await JobQueue.record(job.id, on: fixture.connection)?.state == .completed })
        try await running.stop()
        #expect(seen.all == [nil, JobWakeup(key: "never-signalled", reason: .timeout, data: nil)])
    }

    @Test("a waiting job can be cancelled; a later signal wakes nothing")
    func cancelWaiting() async throws {
        let fixture = try await QueueFixture.make("wait_cancel")
        defer { Task { await fixture.close() } }
        let job = try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", waitFor: "doc:3"), on: fixture.connection)
        try await JobQueue.cancel(job.id, on: fixture.connection)
        #expect(try await JobQueue.record(job.id, on: fixture.connection)?.state == .cancelled)
        #expect(try await JobQueue.signal("doc:3", on: fixture.connection) == 0)
        #expect(try await Self.claim(fixture).isEmpty)
        await #expect(throws: QueueError.wrongState(id: job.id, operation: "cancelled")) {
            try await JobQueue.cancel(job.id, on: fixture.connection)
        }
    }

    @Test("a waiting job holds no lease: the old lease's heartbeat and completion are refused, and rescue leaves it alone")
    func waitingHoldsNoLease() async throws {
        let fixture = try await QueueFixture.make("wait_no_lease")
        defer { Task { await fixture.close() } }
        try await JobQueue.enqueue(NewJob(queue: "q", kind: "k"), on: fixture.connection)
        let job = try #require(try await Self.claim(fixture).first)
        #expect(try await JobQueue.wait([job.lease], for: "k", until: nil, on: fixture.connection) == [job.id])
        #expect(try await JobQueue.extendLeases([job.lease], by: .seconds(30), on: fixture.connection).isEmpty)
        #expect(try await JobQueue.complete([job.lease], on: fixture.connection).isEmpty)
        #expect(try await JobQueue.wait([job.lease], for: "k", until: nil, on: fixture.connection).isEmpty, "a wait is fenced like any transition")
        #expect(try await QueueMaintenance.rescueExpired(on: fixture.connection).rescuedJobs.isEmpty)
        #expect(try await JobQueue.record(job.id, on: fixture.connection)?.state == .waiting)
        // Woken and claimed again: a new lease, and the attempt it did not consume.
        try await JobQueue.signal("k", on: fixture.connection)
        let again = try #require(try await Self.claim(fixture).first)
        #expect(again.leaseToken != job.leaseToken)
        #expect(again.attempt == 1)
    }

    @Test("invalid waits are refused with a reason")
    func invalidWaits() async throws {
        let fixture = try await QueueFixture.make("wait_invalid")
        defer { Task { await fixture.close() } }
        await #expect(throws: QueueError.self) {
            try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", waitUntil: Date()), on: fixture.connection)
        }
        await #expect(throws: QueueError.self) { try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", waitFor: ""), on: fixture.connection) }
        await #expect(throws: QueueError.self) {
            try await JobQueue.enqueue(NewJob(queue: "q", kind: "k", waitFor: "x", dependsOn: [1]), on: fixture.connection)
        }
        await #expect(throws: QueueError.self) { try await JobQueue.copy([NewJob(queue: "q", kind: "k", waitFor: "x")], on: fixture.connection) }
        await #expect(throws: QueueError.self) { try await JobQueue.signal("", on: fixture.connection) }
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 0)
    }
}
