import Foundation
import PostgresClient

/// The queue's operations, each one statement on a connection the caller provides —
/// so any of them can run inside the caller's own transaction (enqueue a job in the
/// same transaction that creates the case it is for; complete a job in the same
/// transaction that writes its resolution).
///
/// The SQL lives in ``JobQueries``; docs/queue.md explains states, leases and fencing.
public enum JobQueue {
    /// Largest batch sent in one statement; bigger inputs are split.
    public static let maximumBatch = 5_000

    // MARK: Enqueue

    /// Enqueues one job.
    /// - Returns: its id, or the id of the unfinished job that already holds its unique key.
    @discardableResult
    public static func enqueue(_ job: NewJob, on connection: PostgresConnection) async throws -> EnqueueResult {
        try await enqueue([job], on: connection)[0]
    }

    /// Enqueues many jobs, one statement per ``maximumBatch`` jobs.
    /// - Returns: one result per input job, in input order.
    @discardableResult
    public static func enqueue(_ jobs: [NewJob], on connection: PostgresConnection) async throws -> [EnqueueResult] {
        var results: [EnqueueResult] = []
        results.reserveCapacity(jobs.count)
        var start = 0
        while start < jobs.count {
            let end = min(start + maximumBatch, jobs.count)
            results += try await enqueueBatch(Array(jobs[start..<end]), on: connection)
            start = end
        }
        return results
    }

    private static func enqueueBatch(_ jobs: [NewJob], depth: Int = 0, on connection: PostgresConnection) async throws -> [EnqueueResult] {
        for job in jobs { try validate(job) }
        // The newer columns go as NULL arrays when no job uses them (the plain path).
        let waits = jobs.contains { $0.waitFor != nil }
        let keyed = jobs.contains { $0.concurrencyKey != nil }
        let dependent = jobs.contains { !$0.dependsOn.isEmpty }
        let rows: QueryResult
        do {
            rows = try await connection.query(
                JobQueries.enqueue,
                jobs.map(\.queue), jobs.map(\.kind), jobs.map { RawJSON($0.payload) }, jobs.map { Int($0.priority) },
                jobs.map(\.runAt), jobs.map(\.maxAttempts), jobs.map(\.uniqueKey),
                jobs.map { $0.timeLimit.map { Int(max(1, $0.milliseconds)) } },
                waits ? jobs.map(\.waitFor) : nil, waits ? jobs.map(\.waitUntil) : nil,
                keyed ? jobs.map(\.concurrencyKey) : nil,
                dependent ? jobs.map { $0.dependsOn.isEmpty ? nil : RawJSON("[" + $0.dependsOn.map(String.init).joined(separator: ",") + "]") } : nil,
                dependent ? jobs.map(\.runIfDependencyFails) : nil)
        } catch let error as PostgresError where error.sqlState == "23503" && error.message.hasPrefix("queue_enqueue: dependency ") {
            // "queue_enqueue: dependency 42 is not a known job"
            let id = Int64(error.message.dropFirst("queue_enqueue: dependency ".count).prefix { $0.isNumber })
            throw QueueError(code: .notFound, message: "dependency \(id.map(String.init) ?? "?") is not a known job (neither unfinished nor completed)",
                             jobID: id)
        }
        // Rows without a unique key come back in input order (ascending ids).
        var plainIDs: [Int64] = []
        var byKey: [String: Int64] = [:]
        for row in rows {
            let id: Int64 = try row.decode("id")
            if let key = try row.decode("unique_key", as: String?.self) { byKey[key] = id } else { plainIDs.append(id) }
        }
        plainIDs.sort()
        let missingKeys = Set(jobs.compactMap(\.uniqueKey)).subtracting(byKey.keys)
        var existing: [String: Int64] = [:]
        if !missingKeys.isEmpty {
            for row in try await connection.query(JobQueries.existingByUniqueKey, Array(missingKeys)) {
                existing[try row.decode("unique_key")] = try row.decode("id")
            }
            let vanished = missingKeys.subtracting(existing.keys)
            if !vanished.isEmpty {
                // The holder finished between the two statements: enqueue those again.
                // A key held by a job this session may not see (row-level security) looks
                // vanished every time: give up after a few rounds instead of looping.
                guard depth < 3 else {
                    throw QueueError.invalidJob("unique key \(vanished.sorted().first!) is held by a job this session cannot see")
                }
                let again = jobs.filter { $0.uniqueKey.map(vanished.contains) ?? false }
                for (job, result) in zip(again, try await enqueueBatch(again, depth: depth + 1, on: connection)) {
                    byKey[job.uniqueKey!] = result.id
                }
            }
        }
        var plainIndex = 0
        var seenKeys: Set<String> = []
        defer {
            var perQueue: [String: Int] = [:]
            for job in jobs { perQueue[job.queue, default: 0] += 1 }
            for (queue, count) in perQueue { QueueMetrics.enqueued(queue: queue, count: count) }
        }
        return jobs.map { job in
            guard let key = job.uniqueKey else {
                defer { plainIndex += 1 }
                return EnqueueResult(id: plainIDs[plainIndex], inserted: true)
            }
            let first = seenKeys.insert(key).inserted
            if let id = byKey[key] { return EnqueueResult(id: id, inserted: first) }
            return EnqueueResult(id: existing[key]!, inserted: false)
        }
    }

    /// Bulk-loads jobs with COPY: the fastest path, for jobs without unique keys.
    /// - Returns: how many jobs were loaded.
    @discardableResult
    public static func copy(_ jobs: [NewJob], on connection: PostgresConnection) async throws -> Int {
        for job in jobs {
            try validate(job)
            guard job.uniqueKey == nil else {
                throw QueueError.invalidJob("COPY cannot deduplicate: enqueue jobs with unique keys through enqueue(_:on:)")
            }
            guard job.waitFor == nil, job.concurrencyKey == nil, job.dependsOn.isEmpty else {
                throw QueueError.invalidJob("COPY loads plain jobs: enqueue waiting, keyed or dependent jobs through enqueue(_:on:)")
            }
        }
        let now = Date()
        let rows: [[String?]] = jobs.map { job in
            let scheduled = job.runAt.map { $0 > now } ?? false
            return [
                job.queue, job.kind, job.payload, String(job.priority),
                (job.runAt ?? now).postgresText, scheduled ? "scheduled" : "available",
                String(job.maxAttempts), job.timeLimit.map { String(max(1, $0.milliseconds)) },
            ]
        }
        let loaded = try await connection.copyFrom(JobQueries.copyJobs, rows: rows)
        var perQueue: [String: Int] = [:]
        for job in jobs { perQueue[job.queue, default: 0] += 1 }
        for (queue, count) in perQueue { QueueMetrics.enqueued(queue: queue, count: count) }
        return loaded
    }

    static func validate(_ job: NewJob) throws {
        guard !job.queue.isEmpty, job.queue.utf8.count <= 128 else {
            throw QueueError.invalidJob("queue name must be 1…128 bytes, got \(job.queue.utf8.count)")
        }
        guard !job.kind.isEmpty, job.kind.utf8.count <= 128 else {
            throw QueueError.invalidJob("job kind must be 1…128 bytes, got \(job.kind.utf8.count)")
        }
        guard job.maxAttempts >= 1 else { throw QueueError.invalidJob("maxAttempts must be at least 1") }
        if let key = job.waitFor, key.isEmpty || key.utf8.count > 512 {
            throw QueueError.invalidJob("waitFor must be 1…512 bytes, got \(key.utf8.count)")
        }
        guard job.waitUntil == nil || job.waitFor != nil else {
            throw QueueError.invalidJob("waitUntil is the timeout of a wait: give waitFor too (or use runAt)")
        }
        if let key = job.concurrencyKey, key.isEmpty || key.utf8.count > 256 {
            throw QueueError.invalidJob("concurrencyKey must be 1…256 bytes, got \(key.utf8.count)")
        }
        guard job.waitFor == nil || job.dependsOn.isEmpty else {
            throw QueueError.invalidJob("a job waits either for a signal or for dependencies, not both")
        }
    }

    // MARK: Claim and fenced transitions

    /// Claims up to `limit` ready jobs from `queues` (earlier queues first; paused ones skipped).
    /// - Parameters:
    ///   - queues: queue names to claim from.
    ///   - limit: the most jobs to claim (free slots).
    ///   - lease: how long the claim holds without a heartbeat.
    ///   - worker: who holds them (shown to operators, recorded with errors).
    public static func claim(
        queues: [String], limit: Int, lease: Duration, worker: String, on connection: PostgresConnection
    ) async throws -> [Job] {
        guard limit > 0, !queues.isEmpty else { return [] }
        let rows = try await connection.query(JobQueries.claim, queues, limit, lease.milliseconds, worker)
        return try rows.map(Job.init(row:)).sorted { ($0.priority, $1.id) > ($1.priority, $0.id) }
    }

    /// Completes jobs still held under their lease.
    /// - Returns: the ids completed; a job missing from it had lost its lease and was not touched.
    @discardableResult
    public static func complete(_ leases: [JobLease], on connection: PostgresConnection) async throws -> Set<Int64> {
        Set(try await completeLeases(leases, on: connection).map(\.id))
    }

    /// Completes jobs still held under their lease.
    /// - Returns: the leases that completed — by id *and* token, so that a stale report
    ///   of an earlier attempt of the same job is never mistaken for the current one.
    public static func completeLeases(_ leases: [JobLease], on connection: PostgresConnection) async throws -> Set<JobLease> {
        guard !leases.isEmpty else { return [] }
        let rows = try await connection.query(JobQueries.complete, leases.map(\.id), leases.map(\.token))
        return Set(try rows.map { JobLease(id: try $0.decode("id"), token: try $0.decode("lease_token")) })
    }

    /// A failed attempt to record.
    public struct Failure: Sendable {
        public let lease: JobLease
        public let error: String
        /// Wait before the next attempt (ignored when the job is discarded).
        public let retryDelay: Duration
        /// Discard now, whatever attempts remain.
        public let discard: Bool

        public init(lease: JobLease, error: String, retryDelay: Duration, discard: Bool = false) {
            self.lease = lease
            self.error = error
            self.retryDelay = retryDelay
            self.discard = discard
        }
    }

    /// Records failed attempts of jobs still held under their lease.
    /// - Returns: the new state of each job that was still held (`retryable`,
    ///   `available` or `discarded`); lost leases are absent.
    @discardableResult
    public static func fail(_ failures: [Failure], on connection: PostgresConnection) async throws -> [Int64: JobState] {
        var states: [Int64: JobState] = [:]
        for (lease, state) in try await failLeases(failures, on: connection) { states[lease.id] = state }
        return states
    }

    /// Records failed attempts; the new states keyed by lease (id and token).
    public static func failLeases(_ failures: [Failure], on connection: PostgresConnection) async throws -> [JobLease: JobState] {
        guard !failures.isEmpty else { return [:] }
        let rows = try await connection.query(
            JobQueries.fail, failures.map(\.lease.id), failures.map(\.lease.token),
            failures.map { String($0.error.prefix(8_000)) }, failures.map { $0.retryDelay.milliseconds }, failures.map(\.discard))
        var states: [JobLease: JobState] = [:]
        for row in rows {
            states[JobLease(id: try row.decode("id"), token: try row.decode("lease_token"))] = try JobState(stored: try row.decode("state"))
        }
        return states
    }

    /// Puts held jobs back to `scheduled` for `delay`, without consuming the attempt.
    @discardableResult
    public static func snooze(_ leases: [JobLease], for delay: Duration, on connection: PostgresConnection) async throws -> Set<Int64> {
        guard !leases.isEmpty else { return [] }
        let rows = try await connection.query(
            JobQueries.snooze, leases.map(\.id), leases.map(\.token), leases.map { _ in delay.milliseconds })
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Hands held jobs back to wait for a signal of `key` (until `until`, or for ever when
    /// `nil`), without consuming the attempt: ``JobOutcome/wait(for:until:)`` from a handler.
    /// - Returns: the ids that now wait; a job missing from it had lost its lease and was not touched.
    @discardableResult
    public static func wait(_ leases: [JobLease], for key: String, until: Date?, on connection: PostgresConnection) async throws -> Set<Int64> {
        try await wait(leases.map { Wait(lease: $0, key: key, until: until) }, on: connection)
    }

    /// A held job to hand back waiting for a signal (``wait(_:on:)``).
    public struct Wait: Sendable {
        public let lease: JobLease
        /// The key a ``JobQueue/signal(_:data:on:)`` names (1…512 bytes).
        public let key: String
        /// The wait's timeout; `nil`: none.
        public let until: Date?

        public init(lease: JobLease, key: String, until: Date?) {
            self.lease = lease
            self.key = key
            self.until = until
        }
    }

    /// Hands held jobs back to wait, each for its own key and timeout, in one statement.
    /// - Returns: the ids that now wait; a job missing from it had lost its lease.
    @discardableResult
    public static func wait(_ waits: [Wait], on connection: PostgresConnection) async throws -> Set<Int64> {
        guard !waits.isEmpty else { return [] }
        for wait in waits where wait.key.isEmpty || wait.key.utf8.count > 512 {
            throw QueueError(code: .invalidJob, message: "invalid wait: the key must be 1…512 bytes, got \(wait.key.utf8.count)",
                             jobID: wait.lease.id)
        }
        let rows = try await connection.query(
            JobQueries.wait, waits.map(\.lease.id), waits.map(\.lease.token), waits.map(\.key), waits.map(\.until))
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Makes every job waiting for `key` available, with `data` (JSON text) for their
    /// handlers (``Job/wakeup``, stored in the job's `signal_data` column), and wakes
    /// their workers. Joins the caller's transaction. A signal nobody waits for is not
    /// an error, and is not kept: a job that starts waiting later waits for the next one.
    /// - Returns: how many jobs woke.
    ///
    /// Row-level security applies: a department's login wakes only the jobs of its own queues.
    @discardableResult
    public static func signal(_ key: String, data: String? = nil, on connection: PostgresConnection) async throws -> Int {
        guard !key.isEmpty, key.utf8.count <= 512 else {
            throw QueueError.invalidJob("a signal's key must be 1…512 bytes, got \(key.utf8.count)")
        }
        let row = try await connection.query(JobQueries.signal, key, data.map { RawJSON($0) }).firstRow()
        return try row.decode("woken", as: Int.self)
    }

    /// Cancels held jobs from inside their handler (no further attempts).
    @discardableResult
    public static func cancelHeld(_ leases: [JobLease], reason: String, on connection: PostgresConnection) async throws -> Set<Int64> {
        guard !leases.isEmpty else { return [] }
        let rows = try await connection.query(
            JobQueries.cancelRunning, leases.map(\.id), leases.map(\.token), leases.map { _ in reason })
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Returns held jobs to `available` without consuming their attempt (shutdown).
    @discardableResult
    public static func giveBack(_ leases: [JobLease], on connection: PostgresConnection) async throws -> Set<Int64> {
        guard !leases.isEmpty else { return [] }
        let rows = try await connection.query(JobQueries.giveBack, leases.map(\.id), leases.map(\.token))
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Extends the leases of held jobs (the heartbeat).
    /// - Returns: the ids whose lease was extended; the others were lost (rescued or cancelled).
    public static func extendLeases(_ leases: [JobLease], by lease: Duration, on connection: PostgresConnection) async throws -> Set<Int64> {
        guard !leases.isEmpty else { return [] }
        let rows = try await connection.query(JobQueries.extendLeases, leases.map(\.id), leases.map(\.token), lease.milliseconds)
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }
}
