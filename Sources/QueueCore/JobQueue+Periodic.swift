import Foundation
import PostgresClient

/// A job to enqueue once per period (`queue_periodic`, migration 0012). Periods are
/// aligned to the epoch (an hourly job's periods start on the hour, UTC); the job of a
/// period carries the unique key `periodic:<name>:<period start, UTC>`.
public struct PeriodicJob: Sendable, Equatable {
    /// The schedule's name, unique (1…200 bytes).
    public var name: String
    public var queue: String
    public var kind: String
    /// JSON text.
    public var payload: String
    public var priority: Int16
    /// At least one second.
    public var interval: Duration
    public var maxAttempts: Int
    public var timeLimit: Duration?

    public init(name: String, queue: String, kind: String, payload: String = "{}", priority: Int16 = 0,
                every interval: Duration, maxAttempts: Int = 10, timeLimit: Duration? = nil) {
        self.name = name
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.interval = interval
        self.maxAttempts = maxAttempts
        self.timeLimit = timeLimit
    }
}

/// A schedule as the registry holds it.
public struct PeriodicSchedule: Sendable, Equatable {
    public let job: PeriodicJob
    /// The start of the last period enqueued; `nil` before the first.
    public let lastEnqueuedPeriod: Date?
}

extension JobQueue {
    /// Registers a periodic job, or changes the one of that name (its last enqueued
    /// period is kept, so no period is enqueued twice). The maintenance leader enqueues
    /// it from its next pass on.
    public static func schedulePeriodic(_ job: PeriodicJob, on connection: PostgresConnection) async throws {
        guard !job.name.isEmpty, job.name.utf8.count <= 200 else {
            throw QueueError.invalidJob("a periodic job's name must be 1…200 bytes, got \(job.name.utf8.count)")
        }
        guard job.interval >= .seconds(1) else { throw QueueError.invalidJob("a periodic job's interval must be at least 1 s") }
        try validate(NewJob(queue: job.queue, kind: job.kind, maxAttempts: job.maxAttempts))
        try await connection.query(
            JobQueries.schedulePeriodic, job.name, job.queue, job.kind, RawJSON(job.payload), Int(job.priority), job.maxAttempts,
            job.timeLimit.map { Int(max(1, $0.milliseconds)) }, job.interval.milliseconds)
    }

    /// Removes a periodic job's schedule (jobs already enqueued stay).
    /// - Returns: whether there was one.
    @discardableResult
    public static func unschedulePeriodic(_ name: String, on connection: PostgresConnection) async throws -> Bool {
        !(try await connection.query(JobQueries.unschedulePeriodic, name)).isEmpty
    }

    /// The registered schedules, by name.
    public static func periodicSchedules(on connection: PostgresConnection) async throws -> [PeriodicSchedule] {
        try await connection.query(JobQueries.periodicSchedules).map { row in
            PeriodicSchedule(
                job: PeriodicJob(
                    name: try row.decode("name"), queue: try row.decode("queue"), kind: try row.decode("kind"),
                    payload: try row.decode("payload"), priority: Int16(try row.decode("priority", as: Int.self)),
                    every: .milliseconds(try row.decode("interval_ms", as: Int64.self)), maxAttempts: try row.decode("max_attempts"),
                    timeLimit: try row.decode("time_limit_ms", as: Int?.self).map { .milliseconds($0) }),
                lastEnqueuedPeriod: try row.decode("last_enqueued_period"))
        }
    }
}
