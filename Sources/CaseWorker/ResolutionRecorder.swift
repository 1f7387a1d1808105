import Foundation
import CaseLedger
import PostgresClient
import QueueCore
import TaskForces

/// Writes what handlers decided, in the transaction that completes (or fails) their
/// jobs — so a resolution exists exactly when its job completed under a valid lease.
public struct ResolutionRecorder: Sendable {
    public let escalator: CaseEscalator
    /// The worker's name (recorded as the actor).
    public let worker: String
    /// `advisor` or `exec`.
    public let handlerName: String

    public init(escalator: CaseEscalator, worker: String, handlerName: String) {
        self.escalator = escalator
        self.worker = worker
        self.handlerName = handlerName
    }

    /// The hooks to give the job runtime.
    public var hooks: JobRuntimeHooks {
        JobRuntimeHooks(
            didComplete: { jobs, connection in try await self.recordCompleted(jobs, on: connection) },
            didFail: { jobs, connection in try await self.recordFailed(jobs, on: connection) },
            didRescue: { jobs, connection in try await self.recordRescued(jobs, on: connection) })
    }

    func recordCompleted(_ jobs: [CompletedJob], on connection: PostgresConnection) async throws {
        var events = LedgerBatch(actor: worker)
        var rows: [(job: CompletedJob, caseJob: CaseJob, resolution: Resolution)] = []
        for job in jobs where job.job.kind == CaseJob.kind {
            let caseJob = try job.job.decodePayload(CaseJob.self)
            guard let text = job.result else { continue }
            rows.append((job, caseJob, try Resolution.parse(text)))
        }
        guard !rows.isEmpty else { return }
        try await connection.query(
            WorkerQueries.insertResolutions,
            rows.map(\.caseJob.caseID), rows.map(\.job.job.id), rows.map(\.job.job.attempt), rows.map(\.caseJob.level),
            rows.map(\.resolution.outcome.rawValue), rows.map(\.resolution.summary), rows.map(\.resolution.reply),
            rows.map { RawJSON("[" + $0.resolution.measures.map(String.init).joined(separator: ",") + "]") },
            rows.map(\.resolution.responsibleUnit), rows.map(\.resolution.nextStep), rows.map { $0.resolution.rerouteTo?.rawValue },
            rows.map { _ in handlerName }, rows.map { _ in worker }, rows.map(\.job.duration))
        try await connection.query(WorkerQueries.firstResponse, rows.map(\.caseJob.caseID))
        // Resolved and rejected cases close in one statement.
        let closing = rows.filter { $0.resolution.outcome == .resolved || $0.resolution.outcome == .reject }
        var closed: Set<Int64> = []
        if !closing.isEmpty {
            let result = try await connection.query(
                WorkerQueries.closeCases, closing.map(\.caseJob.caseID), closing.map(\.job.job.id),
                closing.map { $0.resolution.outcome == .resolved ? "resolved" : "rejected" })
            closed = Set(try result.map { try $0.decode(0, as: Int64.self) })
        }
        for row in rows {
            let caseID = row.caseJob.caseID
            events.add(caseID, "claimed", ["job_id": row.job.job.id, "attempt": row.job.job.attempt, "level": row.caseJob.level,
                                           "at": PostgresTimestamp.format(Date().addingTimeInterval(-row.job.duration)), "worker": worker])
            var data: [String: Any] = [
                "job_id": row.job.job.id, "attempt": row.job.job.attempt, "handler": handlerName,
                "summary": row.resolution.summary, "measures": row.resolution.measures,
                "responsible_unit": row.resolution.responsibleUnit as Any, "handler_seconds": (row.job.duration * 1000).rounded() / 1000,
            ]
            switch row.resolution.outcome {
            case .resolved, .reject:
                guard closed.contains(caseID) else { continue }
                data["reply"] = row.resolution.reply as Any
                data["next_step"] = row.resolution.nextStep as Any
                events.add(caseID, row.resolution.outcome == .resolved ? "resolved" : "rejected", data)
            case .escalate:
                try await escalator.escalate(caseID, fromJob: row.job.job.id, reason: row.resolution.summary, events: &events, on: connection)
            case .reroute:
                try await escalator.reroute(caseID, fromJob: row.job.job.id, to: row.resolution.rerouteTo ?? .triage,
                                            reason: row.resolution.summary, actor: worker, events: &events, on: connection)
            }
        }
        try await events.write(on: connection)
    }

    /// Lost attempts (the worker died or was cut off) go in the ledger too; a job whose
    /// last attempt was lost escalates its case, like any discarded job.
    func recordRescued(_ jobs: [RescuedJob], on connection: PostgresConnection) async throws {
        var events = LedgerBatch(actor: "maintenance:\(worker)")
        for rescued in jobs where rescued.kind == CaseJob.kind {
            guard let caseJob = try? rescued.decodePayload(CaseJob.self) else { continue }
            events.add(caseJob.caseID, "attempt_failed", [
                "job_id": rescued.id, "attempt": rescued.attempt, "max_attempts": rescued.maxAttempts,
                "error": "lease expired: worker \(rescued.worker ?? "?") stopped heartbeating", "next": rescued.newState.rawValue,
            ])
            if rescued.newState == .discarded {
                events.add(caseJob.caseID, "discarded", ["job_id": rescued.id, "attempts": rescued.attempt])
                try await escalator.escalate(caseJob.caseID, fromJob: rescued.id, reason: "job's last attempt was lost (lease expired)",
                                             events: &events, on: connection)
            }
        }
        try await events.write(on: connection)
    }

    func recordFailed(_ jobs: [FailedJob], on connection: PostgresConnection) async throws {
        var events = LedgerBatch(actor: worker)
        for failed in jobs where failed.job.kind == CaseJob.kind {
            guard let caseJob = try? failed.job.decodePayload(CaseJob.self) else { continue }
            events.add(caseJob.caseID, "attempt_failed", [
                "job_id": failed.job.id, "attempt": failed.job.attempt, "max_attempts": failed.job.maxAttempts,
                "error": String(failed.error.prefix(4_000)), "next": failed.newState.rawValue,
                "handler_seconds": (failed.duration * 1000).rounded() / 1000,
            ])
            if failed.newState == .discarded {
                events.add(caseJob.caseID, "discarded", ["job_id": failed.job.id, "attempts": failed.job.attempt])
                try await escalator.escalate(caseJob.caseID, fromJob: failed.job.id,
                                             reason: "job failed \(failed.job.attempt) attempts; last error: \(failed.error.prefix(300))",
                                             events: &events, on: connection)
            }
        }
        try await events.write(on: connection)
    }
}
