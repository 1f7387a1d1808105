import CaseLedger
import PostgresClient
import QueueCore
import TaskForces

/// Hands what handlers decided to the case lifecycle, in the transaction that completes
/// (or fails) their jobs — so a resolution exists exactly when its job completed under a
/// valid lease. It only translates queue outcomes into ``CaseLifecycle`` calls.
package struct ResolutionRecorder: Sendable {
    package let lifecycle: CaseLifecycle
    /// The worker's name (recorded as the actor).
    package let worker: String
    /// `advisor` or `exec`.
    package let handlerName: String

    package init(lifecycle: CaseLifecycle, worker: String, handlerName: String) {
        self.lifecycle = lifecycle
        self.worker = worker
        self.handlerName = handlerName
    }

    /// The hooks to give the job runtime.
    package var hooks: JobRuntimeHooks {
        JobRuntimeHooks(
            didComplete: { jobs, connection in try await self.recordCompleted(jobs, on: connection) },
            didFail: { jobs, connection in try await self.recordFailed(jobs, on: connection) },
            didRescue: { jobs, connection in try await self.recordRescued(jobs, on: connection) })
    }

    func recordCompleted(_ jobs: [CompletedJob], on connection: PostgresConnection) async throws {
        var answers: [CaseLifecycle.HandlerAnswer] = []
        for job in jobs where job.job.kind == CaseJob.kind {
            let caseJob = try job.job.decodePayload(CaseJob.self)
            guard let text = job.result else { continue }
            answers.append(.init(caseID: caseJob.caseID, jobID: job.job.id, attempt: job.job.attempt, level: caseJob.level,
                                 resolution: try Resolution.parse(text), duration: job.duration))
        }
        try await lifecycle.recordAnswers(answers, handler: handlerName, worker: worker, on: connection)
    }

    /// Lost attempts (the worker died or was cut off) go in the ledger too; a job whose
    /// last attempt was lost escalates its case, like any discarded job.
    func recordRescued(_ jobs: [RescuedJob], on connection: PostgresConnection) async throws {
        let failures = try jobs.filter { $0.kind == CaseJob.kind }.map { rescued in
            CaseLifecycle.FailedAttempt(
                caseID: try rescued.decodePayload(CaseJob.self).caseID, jobID: rescued.id, attempt: rescued.attempt,
                maxAttempts: rescued.maxAttempts, error: "lease expired: worker \(rescued.worker ?? "?") stopped heartbeating",
                next: rescued.newState, duration: nil)
        }
        try await lifecycle.recordFailures(failures, actor: "maintenance:\(worker)",
                                           escalationReason: { _ in "job's last attempt was lost (lease expired)" }, on: connection)
    }

    func recordFailed(_ jobs: [FailedJob], on connection: PostgresConnection) async throws {
        let failures = try jobs.filter { $0.job.kind == CaseJob.kind }.map { failed in
            CaseLifecycle.FailedAttempt(
                caseID: try failed.job.decodePayload(CaseJob.self).caseID, jobID: failed.job.id, attempt: failed.job.attempt,
                maxAttempts: failed.job.maxAttempts, error: failed.error, next: failed.newState, duration: failed.duration)
        }
        try await lifecycle.recordFailures(failures, actor: worker, escalationReason: { failure in
            "job failed \(failure.attempt) attempts; last error: \(failure.error.prefix(300))"
        }, on: connection)
    }
}
