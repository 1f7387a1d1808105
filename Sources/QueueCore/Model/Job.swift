import Foundation
import PostgresClient

/// The life-cycle states of a job. See docs/queue.md for the transitions.
public enum JobState: String, Sendable, CaseIterable, Codable {
    case available, scheduled, running, retryable, completed, discarded, cancelled

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

    /// - Parameters:
    ///   - queue: the queue to wait in.
    ///   - kind: selects the handler.
    ///   - payload: JSON text for the handler (default `{}`).
    ///   - priority: higher runs first.
    ///   - runAt: run no earlier than this.
    ///   - maxAttempts: attempts before discarding (at least 1).
    ///   - uniqueKey: deduplication key among unfinished jobs.
    ///   - timeLimit: per-attempt execution limit override.
    public init(
        queue: String, kind: String, payload: String = "{}", priority: Int16 = 0, runAt: Date? = nil,
        maxAttempts: Int = 10, uniqueKey: String? = nil, timeLimit: Duration? = nil
    ) {
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
        self.timeLimit = timeLimit
    }

    /// A job whose payload is a `Codable` value, encoded as JSON.
    public init<Payload: Encodable>(
        queue: String, kind: String, payload: Payload, priority: Int16 = 0, runAt: Date? = nil,
        maxAttempts: Int = 10, uniqueKey: String? = nil, timeLimit: Duration? = nil
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.init(
            queue: queue, kind: kind, payload: String(decoding: try encoder.encode(payload), as: UTF8.self),
            priority: priority, runAt: runAt, maxAttempts: maxAttempts, uniqueKey: uniqueKey, timeLimit: timeLimit)
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
