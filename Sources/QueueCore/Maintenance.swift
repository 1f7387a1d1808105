import Foundation
import PostgresClient

/// The maintenance work of the elected leader: rescue expired leases, promote due
/// jobs, prune finished ones. Exactly one process holds the leadership at a time (a
/// lease row in `queue_leader`), so the work is never done twice concurrently; if the
/// leader dies, its lease lapses and another process takes over.
public enum QueueMaintenance {
    /// What one maintenance pass did.
    public struct Report: Sendable, Equatable {
        public var rescued = 0
        public var discardedByRescue = 0
        public var promoted = 0
        public var pruned = 0
        /// Queues that got new available jobs (their workers should be woken).
        public var wokenQueues: Set<String> = []
        /// The jobs rescued, with what became of them.
        public var rescuedJobs: [RescuedJob] = []
        public init() {}
    }

    /// Takes or renews the leadership.
    /// - Returns: `true` when `holder` is the leader until `now() + ttl`.
    public static func elect(holder: String, ttl: Duration, on connection: PostgresConnection) async throws -> Bool {
        !(try await connection.query(JobQueries.electLeader, holder, ttl.milliseconds)).isEmpty
    }

    /// Gives the leadership up so that another process takes over at once.
    public static func resign(holder: String, on connection: PostgresConnection) async throws {
        try await connection.query(JobQueries.resignLeader, holder)
    }

    /// Rescues jobs whose lease expired: they run again (the attempt counts), or are
    /// discarded after their last attempt.
    public static func rescueExpired(limit: Int = 1_000, on connection: PostgresConnection) async throws -> Report {
        var report = Report()
        for row in try await connection.query(JobQueries.rescueExpired, limit) {
            let state: String = try row.decode("state")
            report.rescuedJobs.append(RescuedJob(
                id: try row.decode("id"), queue: try row.decode("queue"), kind: try row.decode("kind"),
                payload: try row.decode("payload"), attempt: try row.decode("attempt"), maxAttempts: try row.decode("max_attempts"),
                newState: try JobState(stored: state), worker: try row.decode("worker")))
            if state == JobState.discarded.rawValue {
                report.discardedByRescue += 1
            } else {
                report.rescued += 1
                report.wokenQueues.insert(try row.decode("queue"))
            }
        }
        return report
    }

    /// Makes due scheduled and retryable jobs available.
    public static func promoteDue(limit: Int = 10_000, on connection: PostgresConnection) async throws -> Report {
        var report = Report()
        for row in try await connection.query(JobQueries.promoteDue, limit) {
            report.promoted += 1
            report.wokenQueues.insert(try row.decode(0))
        }
        return report
    }

    /// Makes waiting jobs whose timeout passed available, marked timed out
    /// (``JobWakeup/Reason/timeout``).
    public static func promoteTimedOut(limit: Int = 10_000, on connection: PostgresConnection) async throws -> Report {
        var report = Report()
        for row in try await connection.query(JobQueries.promoteTimedOut, limit) {
            report.promoted += 1
            report.wokenQueues.insert(try row.decode(0))
        }
        return report
    }

    /// A periodic job enqueued for one period.
    public struct PeriodicEnqueue: Sendable, Equatable {
        public let name: String
        public let period: Date
        /// The job; `nil` when an unfinished job already held the period's unique key.
        public let jobID: Int64?

        public init(name: String, period: Date, jobID: Int64?) {
            self.name = name
            self.period = period
            self.jobID = jobID
        }
    }

    /// Enqueues every periodic job whose current period has not been enqueued yet, once
    /// per period however many processes call this at once (the leader does each pass).
    /// - Parameter clock: the moment whose period counts (`nil`: the database's `now()`).
    @discardableResult
    public static func enqueuePeriodic(at clock: Date? = nil, on connection: PostgresConnection) async throws -> [PeriodicEnqueue] {
        var enqueued: [PeriodicEnqueue] = []
        for row in try await connection.query(JobQueries.enqueuePeriodic, clock) {
            enqueued.append(PeriodicEnqueue(name: try row.decode("name"), period: try row.decode("period"), jobID: try row.decode("id")))
        }
        return enqueued
    }

    /// What one pruning pass did.
    public struct PruneResult: Sendable, Equatable {
        /// Rows deleted from the archive and the hot table together.
        public var deleted = 0
        /// False when the time budget ran out with old rows left: prune again soon.
        public var caughtUp = true

        public init(deleted: Int = 0, caughtUp: Bool = true) {
            self.deleted = deleted
            self.caughtUp = caughtUp
        }
    }

    /// Deletes completed jobs older than `completedRetention` from the archive and
    /// discarded/cancelled jobs older than `finishedRetention` from the hot table, in
    /// batches of `batch`, until nothing old is left or `timeBudget` is spent — so pruning
    /// keeps up with any rate the queue reaches (one batch per call would cap it at
    /// `batch` rows per pass; at one pass a minute that is about 167 jobs/s).
    /// - Parameters:
    ///   - completedRetention: how long completed jobs stay in the archive.
    ///   - finishedRetention: how long discarded and cancelled jobs stay.
    ///   - batch: rows per statement (each statement is its own short transaction).
    ///   - timeBudget: how long one pass may go on.
    public static func prune(completedRetention: Duration, finishedRetention: Duration, batch: Int = 10_000,
                             timeBudget: Duration = .seconds(2), on connection: PostgresConnection) async throws -> PruneResult {
        let start = ContinuousClock.now
        var result = PruneResult()
        while true {
            let archived = try await connection.query(JobQueries.pruneArchive, completedRetention.milliseconds, batch).affectedRows
            let finished = try await connection.query(JobQueries.pruneFinished, finishedRetention.milliseconds, batch).affectedRows
            result.deleted += archived + finished
            guard archived == batch || finished == batch else { return result }
            if ContinuousClock.now - start >= timeBudget {
                result.caughtUp = false
                return result
            }
        }
    }

    /// Vacuums the hot table when at least `deadTuples` dead rows have gathered: under
    /// sustained load autovacuum (one pass per minute by default) falls behind, and the
    /// claim index fills with entries of finished jobs that every claim must step over.
    /// - Returns: whether it vacuumed.
    @discardableResult
    public static func vacuumIfNeeded(deadTuples threshold: Int, on connection: PostgresConnection) async throws -> Bool {
        let dead = try await connection.query(JobQueries.deadTuples).first?.decode(0, as: Int.self) ?? 0
        guard dead >= threshold else { return false }
        try await connection.query(JobQueries.vacuum)
        return true
    }

    /// Whether this session may vacuum the hot table. Only its owner (or a member of the
    /// owner's role) may; anyone else's VACUUM only logs a WARNING on the server and does
    /// nothing, so callers check once and leave the table to autovacuum otherwise.
    public static func mayVacuum(on connection: PostgresConnection) async throws -> Bool {
        try await connection.query(JobQueries.ownsHotTable).first?.decode(0, as: Bool.self) ?? false
    }

    /// Wakes the workers of `queues` (NOTIFY, one per queue).
    public static func wake(_ queues: Set<String>, on connection: PostgresConnection) async throws {
        for queue in queues.sorted() { try await connection.notify(QueueNotifications.channel, payload: queue) }
    }
}

/// A job whose lease expired (its worker died or was cut off) and that the leader took back.
public struct RescuedJob: Sendable, Equatable {
    public let id: Int64
    public let queue: String
    public let kind: String
    /// JSON text as enqueued.
    public let payload: String
    /// The attempt that was lost.
    public let attempt: Int
    public let maxAttempts: Int
    /// `available` (runs again) or `discarded` (that was its last attempt).
    public let newState: JobState
    /// The worker that held it.
    public let worker: String?

    /// Decodes the payload as a `Decodable` value.
    public func decodePayload<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(payload.utf8))
    }
}

/// The NOTIFY channel that announces ready jobs; the payload is the queue's name.
public enum QueueNotifications {
    public static let channel = "queue_jobs"
}
