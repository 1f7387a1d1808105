import Foundation
import PostgresClient

extension JobQueue {
    /// Stops workers from claiming from `queue` (running jobs go on). Idempotent.
    public static func pause(_ queue: String, on connection: PostgresConnection) async throws {
        try await connection.query(JobQueries.pause, queue)
    }

    /// Lets workers claim from `queue` again. Idempotent.
    public static func resume(_ queue: String, on connection: PostgresConnection) async throws {
        try await connection.query(JobQueries.resume, queue)
    }

    /// The queues currently paused.
    public static func pausedQueues(on connection: PostgresConnection) async throws -> [String] {
        try await connection.query(JobQueries.pausedQueues).map { try $0.decode(0) }
    }

    /// Cancels a job that has not finished (waiting ones too). A running job's worker
    /// loses its lease: its heartbeat cancels the handler and its late completion is
    /// refused. Jobs that depend on it are cancelled too, unless enqueued with
    /// ``NewJob/runIfDependencyFails``.
    /// - Throws: ``QueueError/wrongState(id:operation:)`` when the job has already finished.
    public static func cancel(_ id: Int64, on connection: PostgresConnection) async throws {
        if try await connection.query(JobQueries.cancel, id).isEmpty {
            throw try await record(id, on: connection) == nil ? QueueError.notFound(id) : QueueError.wrongState(id: id, operation: "cancelled")
        }
    }

    /// Gives a discarded or cancelled job a fresh set of attempts, runnable now.
    public static func retry(_ id: Int64, on connection: PostgresConnection) async throws {
        if try await connection.query(JobQueries.retry, id).isEmpty {
            throw try await record(id, on: connection) == nil ? QueueError.notFound(id) : QueueError.wrongState(id: id, operation: "retried")
        }
    }

    /// Jobs per queue and state (completed ones counted from the archive).
    public static func counts(on connection: PostgresConnection) async throws -> [QueueCount] {
        try await connection.query(JobQueries.counts).map { row in
            QueueCount(queue: try row.decode("queue"), state: try JobState(stored: try row.decode("state")),
                       jobs: try row.decode("jobs"))
        }
    }

    /// A job's record, from the hot table or the archive; `nil` when unknown or pruned.
    public static func record(_ id: Int64, on connection: PostgresConnection) async throws -> JobRecord? {
        guard let row = try await connection.query(JobQueries.find, id).first else { return nil }
        let errors = try JSONDecoder().decode([AttemptError].self, from: Data(try row.decode("errors", as: String.self).utf8))
        return JobRecord(
            id: try row.decode("id"), queue: try row.decode("queue"), kind: try row.decode("kind"),
            payload: try row.decode("payload"), priority: Int16(try row.decode("priority", as: Int.self)),
            state: try JobState(stored: try row.decode("state")),
            attempt: try row.decode("attempt"), maxAttempts: try row.decode("max_attempts"), errors: errors,
            uniqueKey: try row.decode("unique_key"), runAt: try row.decode("run_at"),
            createdAt: try row.decode("created_at"), attemptedAt: try row.decode("attempted_at"),
            finishedAt: try row.decode("finished_at"), lockedBy: try row.decode("locked_by"),
            waitKey: try row.decode("wait_key"), waitUntil: try row.decode("wait_until"),
            concurrencyKey: try row.decode("concurrency_key"),
            dependsOn: try row.decode("depends_on", as: String?.self)
                .map { try JSONDecoder().decode([Int64].self, from: Data($0.utf8)) } ?? [])
    }
}
