import Foundation
import PostgresClient

/// The life-cycle states of a job. See docs/queue.md for the transitions.
public enum JobState: String, Sendable, CaseIterable, Codable {
    case available, scheduled, waiting, running, retryable, completed, discarded, cancelled

    /// Whether the job will not run again (unless an operator retries it).
    public var isFinal: Bool { self == .completed || self == .discarded || self == .cancelled }

    /// Parses a state read from the database; an unknown one is an error, never a guess.
    public init(stored text: String) throws(QueueError) {
        guard let state = JobState(rawValue: text) else {
            throw QueueError(code: .unknownValue, message: "job state \"\(text)\" is unknown to this program; upgrade it")
        }
        self = state
    }
}

/// A job to enqueue.
public struct NewJob: Sendable {
    /// The queue it waits in (e.g. a task force's name).
    public var queue: String
    /// What the handler should do; selects the handler and its retry strategy.
    public var kind: String
    /// Arguments for the handler, as JSON text (an object, array, or any JSON value).
    public var payload: String
    /// Higher runs first. Default 0.
    public var priority: Int16
    /// Not before this time; `nil` means now.
    public var runAt: Date?
    /// Attempts before the job is discarded.
    public var maxAttempts: Int
    /// While an unfinished job holds this key, enqueueing again returns that job.
    public var uniqueKey: String?
    /// Execution time limit of one attempt; `nil` uses the worker's default for the queue.
    public var timeLimit: Duration?
    /// Enqueue it `waiting` for a signal of this key (``JobQueue/signal(_:data:on:)``):
    /// it is not claimable until then, or until ``waitUntil``.
    public var waitFor: String?
    /// With ``waitFor``: the wait's timeout; after it the leader makes the job available,
    /// marked timed out (``JobWakeup/Reason/timeout``). `nil`: wait for the signal only.
    public var waitUntil: Date?
    /// Fairness key (an enterprise, a tenant): within a queue and a priority, a key that
    /// floods the queue does not starve the jobs of a key that comes later.
    public var concurrencyKey: String?
    /// Jobs that must finish first: this one is not claimable until all of them
    /// completed. Ids of completed (archived) jobs are already satisfied.
    public var dependsOn: [Int64]
    /// What a discarded or cancelled dependency does: `false` (default) cancels this job
    /// too; `true` runs it anyway, once every dependency is finished one way or another.
    public var runIfDependencyFails: Bool

    /// - Parameters:
    ///   - queue: the queue to wait in.
    ///   - kind: selects the handler.
    ///   - payload: JSON text for the handler (default `{}`).
    ///   - priority: higher runs first.
    ///   - runAt: run no earlier than this.
    ///   - maxAttempts: attempts before discarding (at least 1).
    ///   - uniqueKey: deduplication key among unfinished jobs.
    ///   - timeLimit: per-attempt execution limit override.
    ///   - waitFor: start waiting for a signal of this key.
    ///   - waitUntil: the wait's timeout.
    ///   - concurrencyKey: the fairness key.
    ///   - dependsOn: jobs that must complete first.
    ///   - runIfDependencyFails: run even when a dependency is discarded or cancelled.
    public init(
        queue: String, kind: String, payload: String = "{}", priority: Int16 = 0, runAt: Date? = nil,
        maxAttempts: Int = 10, uniqueKey: String? = nil, timeLimit: Duration? = nil,
        waitFor: String? = nil, waitUntil: Date? = nil, concurrencyKey: String? = nil,
        dependsOn: [Int64] = [], runIfDependencyFails: Bool = false
    ) {
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
        self.timeLimit = timeLimit
        self.waitFor = waitFor
        self.waitUntil = waitUntil
        self.concurrencyKey = concurrencyKey
        self.dependsOn = dependsOn
        self.runIfDependencyFails = runIfDependencyFails
    }

    /// A job whose payload is a `Codable` value, encoded as JSON.
    public init<Payload: Encodable>(
        queue: String, kind: String, payload: Payload, priority: Int16 = 0, runAt: Date? = nil,
        maxAttempts: Int = 10, uniqueKey: String? = nil, timeLimit: Duration? = nil,
        waitFor: String? = nil, waitUntil: Date? = nil, concurrencyKey: String? = nil,
        dependsOn: [Int64] = [], runIfDependencyFails: Bool = false
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.init(
            queue: queue, kind: kind, payload: String(decoding: try encoder.encode(payload), as: UTF8.self),
            priority: priority, runAt: runAt, maxAttempts: maxAttempts, uniqueKey: uniqueKey, timeLimit: timeLimit,
            waitFor: waitFor, waitUntil: waitUntil, concurrencyKey: concurrencyKey,
            dependsOn: dependsOn, runIfDependencyFails: runIfDependencyFails)
    }
}

/// How a job's last wait ended (``Job/wakeup``).
public struct JobWakeup: Sendable, Equatable {
    public enum Reason: String, Sendable, Equatable {
        /// ``JobQueue/signal(_:data:on:)`` named its key.
        case signal
        /// Its timeout passed first; the maintenance leader made it available.
        case timeout
    }

    /// The key it waited for.
    public let key: String
    public let reason: Reason
    /// The signal's data (JSON text), if the signal carried any; `nil` after a timeout.
    public let data: String?

    public init(key: String, reason: Reason, data: String?) {
        self.key = key
        self.reason = reason
        self.data = data
    }
}

/// What an enqueue did for one job.
public struct EnqueueResult: Sendable, Equatable {
    public let id: Int64
    /// `false` when an unfinished job with the same unique key already existed (its id is returned).
    public let inserted: Bool
}

/// The proof that a worker holds a job: its id and the lease token of this claim.
public struct JobLease: Sendable, Hashable {
    public let id: Int64
    public let token: UUID
    public init(id: Int64, token: UUID) {
        self.id = id
        self.token = token
    }
}

/// A claimed job, as a handler sees it.
public struct Job: Sendable {
    public let id: Int64
    public let queue: String
    public let kind: String
    /// JSON text as enqueued.
    public let payload: String
    public let priority: Int16
    /// This attempt's number, starting at 1.
    public let attempt: Int
    public let maxAttempts: Int
    public let leaseToken: UUID
    public let leaseExpiresAt: Date
    public let runAt: Date
    public let createdAt: Date
    /// The per-job time-limit override, if any.
    public let timeLimit: Duration?
    /// Seconds between becoming due and being claimed.
    public let waitSeconds: Double
    /// How its last wait for a signal ended; `nil` if it never waited.
    public let wakeup: JobWakeup?

    public var lease: JobLease { JobLease(id: id, token: leaseToken) }

    /// Decodes the payload as a `Decodable` value.
    public func decodePayload<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(payload.utf8))
    }

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        queue = try row.decode("queue")
        kind = try row.decode("kind")
        payload = try row.decode("payload")
        priority = Int16(try row.decode("priority", as: Int.self))
        attempt = try row.decode("attempt")
        maxAttempts = try row.decode("max_attempts")
        leaseToken = try row.decode("lease_token")
        leaseExpiresAt = try row.decode("lease_expires_at")
        runAt = try row.decode("run_at")
        createdAt = try row.decode("created_at")
        timeLimit = try row.decode("time_limit_ms", as: Int?.self).map { .milliseconds($0) }
        waitSeconds = try row.decode("wait_seconds", as: Double.self)
        if let reason = try row.decode("wake_reason", as: String?.self) {
            guard let known = JobWakeup.Reason(rawValue: reason) else {
                throw QueueError(code: .unknownValue, message: "wake reason \"\(reason)\" is unknown to this program; upgrade it")
            }
            wakeup = JobWakeup(key: try row.decode("wait_key", as: String?.self) ?? "", reason: known,
                               data: try row.decode("signal_data", as: String?.self))
        } else {
            wakeup = nil
        }
    }
}

/// A job's full record (for operators and tests), from the hot table or the archive.
public struct JobRecord: Sendable {
    public let id: Int64
    public let queue: String
    public let kind: String
    public let payload: String
    public let priority: Int16
    public let state: JobState
    public let attempt: Int
    public let maxAttempts: Int
    /// One entry per failed attempt, oldest first.
    public let errors: [AttemptError]
    public let uniqueKey: String?
    public let runAt: Date?
    public let createdAt: Date
    public let attemptedAt: Date?
    public let finishedAt: Date?
    public let lockedBy: String?
    /// The key it waits (or last waited) for; `nil` for a completed job.
    public let waitKey: String?
    /// The timeout of its wait, if any.
    public let waitUntil: Date?
    /// Its fairness key; `nil` for a completed job.
    public let concurrencyKey: String?
    /// The jobs it was enqueued to wait for (empty for none, and for a completed job).
    public let dependsOn: [Int64]
}

/// The error recorded for one failed attempt.
public struct AttemptError: Sendable, Codable, Equatable {
    public let attempt: Int
    public let at: String
    public let error: String
    public let worker: String?
}

/// How many jobs one queue holds in one state.
public struct QueueCount: Sendable, Equatable {
    public let queue: String
    public let state: JobState
    public let jobs: Int

    public init(queue: String, state: JobState, jobs: Int) {
        self.queue = queue
        self.state = state
        self.jobs = jobs
    }
}
