import Foundation
import CaseLedger
import PostgresClient
import QueueCore
import TaskForces

/// Moves cases along the policy's chain — unit (level 0) → department (1) → task force
/// (2) — or to another task force. Used by resolutions, discarded jobs and the deadline
/// enforcer, always inside the caller's transaction.
public struct CaseEscalator: Sendable {
    public let policy: TimeLimitPolicy
    public let calendar: WorkCalendar
    /// The highest level of the chain.
    public static let topLevel = 2

    public init(policy: TimeLimitPolicy, calendar: WorkCalendar) {
        self.policy = policy
        self.calendar = calendar
    }

    /// Escalates a case one level: a new deadline, a higher priority, a new job in the
    /// same queue (the current job, if still pending, is cancelled). At the top level
    /// the case becomes `escalated`: it waits for the task force's people.
    /// - Parameters:
    ///   - caseID: the case.
    ///   - fromJob: the job that asked for it (nil for the deadline enforcer); a stale job is ignored.
    ///   - reason: recorded in the ledger.
    ///   - events: where ledger events are collected.
    /// - Returns: the new job id, or nil at the top level or when nothing was done.
    @discardableResult
    public func escalate(_ caseID: Int64, fromJob: Int64?, reason: String, events: inout LedgerBatch, on connection: PostgresConnection) async throws -> Int64? {
        guard let row = try await connection.query(WorkerQueries.lockCase, caseID).first else { return nil }
        let state: String = try row.decode("state")
        let currentJob: Int64? = try row.decode("current_job_id")
        guard state == "open", fromJob == nil || currentJob == fromJob else { return nil }
        let level: Int = try row.decode("escalation_level")
        let taskForce: String = try row.decode("task_force")
        if let currentJob, currentJob != fromJob {
            // Already finished or cancelled is fine; an SQL error aborts the transaction and is reported.
            do { try await JobQueue.cancel(currentJob, on: connection) } catch is QueueError {}
        }
        guard level < Self.topLevel else {
            try await connection.query(WorkerQueries.topEscalation, caseID)
            events.add(caseID, "escalated", ["from_level": level, "to_level": level, "top": true, "reason": reason,
                                             "note": "at the top of the chain: the task force's people take it over"])
            return nil
        }
        let next = level + 1
        let urgent: Bool = try row.decode("urgent")
        let deadline = try policy.deadline(taskForce: taskForce, kind: nil, urgent: urgent, escalationLevel: next, receivedAt: Date(), calendar: calendar)
        let job = try await JobQueue.enqueue(NewJob(
            queue: taskForce, kind: CaseJob.kind, payload: CaseJob(caseID: caseID, level: next).json,
            priority: CaseJob.priority(urgent: urgent, level: next), uniqueKey: CaseJob.uniqueKey(caseID: caseID, level: next)), on: connection).id
        try await connection.query(WorkerQueries.escalateCase, caseID, next, deadline.dueAt, deadline.warnAt, deadline.rule, job)
        events.add(caseID, "escalated", ["from_level": level, "to_level": next, "reason": reason, "job_id": job,
                                         "due_at": PostgresTimestamp.format(deadline.dueAt), "rule": deadline.rule])
        events.add(caseID, "enqueued", ["job_id": job, "queue": taskForce, "level": next])
        return job
    }

    /// Re-dispatches a case a handler found misrouted. After two reroutes it goes to
    /// triage instead, so that cases cannot bounce between task forces.
    ///
    /// The events collected so far are written first: once the case belongs to another
    /// task force, a department's login can no longer append to its ledger. The move
    /// itself (and its events) goes through the database's definer functions.
    public func reroute(_ caseID: Int64, fromJob: Int64, to target: TaskForce, reason: String, actor: String,
                        events: inout LedgerBatch, on connection: PostgresConnection) async throws {
        guard let row = try await connection.query(WorkerQueries.lockCase, caseID).first else { return }
        let state: String = try row.decode("state")
        let currentJob: Int64? = try row.decode("current_job_id")
        guard state == "open", currentJob == fromJob else { return }
        let from: String = try row.decode("task_force")
        let reroutes = try await connection.query(WorkerQueries.reroutesOfCase, caseID).first?.decode(0, as: Int.self) ?? 0
        try await events.flush(on: connection)
        if reroutes >= 2 || target == .triage || target.rawValue == from {
            let why = target == .triage || target.rawValue == from ? reason : "\(reason); rerouted \(reroutes) times already: a person decides"
            try await CaseRedispatch.toTriage(caseID, fromJob: fromJob, reason: why, via: actor, on: connection)
            return
        }
        try await CaseRedispatch.move(.init(
            caseID: caseID, text: try row.decode("text"), from: from, to: target,
            level: try row.decode("escalation_level"), urgent: try row.decode("urgent"), kind: try row.decode("kind"),
            deadlineFrom: Date(), source: "corrected", eventType: "rerouted", reason: reason, actor: actor),
            fromJob: fromJob, policy: policy, calendar: calendar, on: connection)
    }
}
