import Foundation
import PostgresClient

/// What a handler decided about its job. Throwing an error means "this attempt failed":
/// the job is retried after its backoff, or discarded after its last attempt.
public enum JobOutcome: Sendable {
    /// Done. `result` (JSON text, optional) is handed to the completion hook, which
    /// writes it in the transaction that completes the job.
    case completed(result: String? = nil)
    /// Not now: run again after `delay`, without consuming an attempt.
    case snooze(Duration)
    /// Wait for a signal of `key` (``JobQueue/signal(_:data:on:)``), or until `until` at
    /// the latest (`nil`: no timeout): the job goes back to the database as `waiting`,
    /// without consuming an attempt and without holding a slot, and runs again when woken
    /// (``Job/wakeup`` says by what).
    case wait(for: String, until: Date? = nil)
    /// Stop for good: the job is cancelled, with the reason recorded.
    case cancel(reason: String)
    /// Failed for good: discarded now, whatever attempts remain.
    case discard(reason: String)

    /// Done, with no result.
    public static var completed: JobOutcome { .completed(result: nil) }
}

/// Runs one job. Handlers must be cancellation-aware: the runtime cancels them at the
/// time limit, when their lease is lost, and on shutdown after the grace period.
public typealias JobHandler = @Sendable (Job) async throws -> JobOutcome

/// A job whose completion is being committed, with its handler's result.
public struct CompletedJob: Sendable {
    public let job: Job
    public let result: String?
    /// Wall-clock seconds the handler ran.
    public let duration: Double
}

/// A failed attempt being committed, with what became of the job.
public struct FailedJob: Sendable {
    public let job: Job
    public let error: String
    /// `retryable`/`available` (will run again) or `discarded` (will not).
    public let newState: JobState
    public let duration: Double
}

/// Writes that must commit atomically with the queue's own state change — e.g. a
/// case's resolution and its ledger event. Each is called inside the transaction that
/// completes (or fails) the jobs, only for jobs whose lease was still valid, so a
/// worker that lost its lease can never write a second resolution.
public struct JobRuntimeHooks: Sendable {
    public var didComplete: (@Sendable (_ jobs: [CompletedJob], _ connection: PostgresConnection) async throws -> Void)?
    public var didFail: (@Sendable (_ jobs: [FailedJob], _ connection: PostgresConnection) async throws -> Void)?
    /// Called by the maintenance leader in the transaction that rescues jobs whose lease
    /// expired (the lost attempt, and whether that was the last).
    public var didRescue: (@Sendable (_ jobs: [RescuedJob], _ connection: PostgresConnection) async throws -> Void)?

    public init(
        didComplete: (@Sendable ([CompletedJob], PostgresConnection) async throws -> Void)? = nil,
        didFail: (@Sendable ([FailedJob], PostgresConnection) async throws -> Void)? = nil,
        didRescue: (@Sendable ([RescuedJob], PostgresConnection) async throws -> Void)? = nil
    ) {
        self.didComplete = didComplete
        self.didFail = didFail
        self.didRescue = didRescue
    }
}
