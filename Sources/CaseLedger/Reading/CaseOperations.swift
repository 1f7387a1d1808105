import Foundation
import PostgresClient
import QueueCore
import TaskForces

/// Counts of one task force for `dispatcher status` and dashboards.
package struct TaskForceStatus: Sendable, Codable, Equatable {
    package init() {}

    package init(open: Int, running: Int, overdue: Int, escalated: Int, resolved: Int, discarded: Int) {
        self.open = open
        self.running = running
        self.overdue = overdue
        self.escalated = escalated
        self.resolved = resolved
        self.discarded = discarded
    }

    package var open = 0
    package var running = 0
    package var overdue = 0
    package var escalated = 0
    package var resolved = 0
    package var discarded = 0
}

/// The whole status: per task force, plus the triage backlog.
package struct LedgerStatus: Sendable, Codable, Equatable {
    package var taskForces: [String: TaskForceStatus]
    package var triage: Int

    enum CodingKeys: String, CodingKey {
        case taskForces = "task_forces"
        case triage
    }
}

/// A case as stored, with its ledger.
package struct CaseRecord: Sendable {
    package let id: Int64
    package let externalID: String?
    package let text: String
    package let enterprise: String?
    package let contact: String?
    package let channel: String
    package let language: String
    package let receivedAt: Date
    package let taskForce: TaskForce
    package let confidence: Double?
    package let routingSource: String
    package let routingTerms: String
    package let kind: String?
    package let urgent: Bool
    package let escalationLevel: Int
    package let state: CaseState
    package let originalDueAt: Date?
    package let dueAt: Date?
    package let warnAt: Date?
    package let deadlineRule: String?
    package let duplicateOf: Int64?
    package let repeatCount: Int
    package let currentJobID: Int64?
    package let resolvedAt: Date?
    package let events: [CaseEvent]
    /// The people's side: clocks, pauses, co-handling, answers and callbacks.
    package var casework = CaseworkRecord()
}

/// The casework of one case as `dispatcher case` shows it (docs/casework.md).
package struct CaseworkRecord: Sendable {
    package var signoffDueAt: Date?
    package var signedOffAt: Date?
    package var signedOffBy: String?
    package var pausedAt: Date?
    package var resumeAt: Date?
    package var pausedSeconds: Double = 0
    package var suspendCount = 0
    package var answeredAt: Date?
    package var callbackDueAt: Date?
    package var redoCount = 0
    package var supervisedCount = 0
    package var chasedCount = 0
    package var cohandling: [Cohandling] = []
    package var answers: [Answer] = []

    package struct Cohandling: Sendable {
        package var taskForce: String
        package var question: String
        package var requestedBy: String
        package var requestedAt: Date
        package var reply: String?
        package var repliedBy: String?
        package var repliedAt: Date?
    }

    package struct Answer: Sendable {
        package var round: Int
        package var answer: String
        package var language: String
        package var drafted: Bool
        package var answeredBy: String
        package var answeredAt: Date
        package var onTime: Bool
        package var satisfaction: String?
        package var callbackNote: String?
        package var callbackBy: String?
        package var callbackAt: Date?
    }

    /// One pause of the solution clock, from the ledger (`suspended` … `resumed`).
    package struct Pause: Sendable, Equatable {
        package var from: Date
        package var until: Date?
        package var reason: String?
        package var automatic: Bool?
    }
}

extension CaseRecord {
    /// The pauses of the solution clock, from the ledger; the last one is open while suspended.
    package var pauses: [CaseworkRecord.Pause] {
        var pauses: [CaseworkRecord.Pause] = []
        for event in events {
            let data = (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) as? [String: Any] ?? [:]
            if event.type == LedgerEventType.suspended.rawValue {
                pauses.append(.init(from: event.at, until: nil, reason: data["reason"] as? String, automatic: nil))
            } else if event.type == LedgerEventType.resumed.rawValue, let last = pauses.indices.last, pauses[last].until == nil {
                pauses[last].until = event.at
                pauses[last].automatic = data["automatic"] as? Bool
            }
        }
        return pauses
    }

    /// Where the sign-off clock stands: `done` (signed off), `breached`, `at_risk` is not
    /// tracked for sign-off, `on_time`, or `none` (the case was never held for people).
    package func signOffStatus(now: Date = Date()) -> String {
        guard let due = casework.signoffDueAt else { return "none" }
        if state == .signoff || state == .redo { return now >= due ? "breached" : "on_time" }
        if let signed = casework.signedOffAt { return signed <= due ? "done_on_time" : "done_late" }
        return "closed"
    }
}

extension CaseRecord {
    /// Where an open case stands against its deadline: `on_time`, `at_risk` (past the
    /// warning point) or `breached`; `closed` once it is no longer open.
    package func deadlineStatus(now: Date = Date()) -> String {
        if state == .suspended { return "paused" }
        guard state == .open || state == .triage || state.isWithPeople else { return "closed" }
        if let dueAt, now >= dueAt { return "breached" }
        if let warnAt, now >= warnAt { return "at_risk" }
        return "on_time"
    }
}

/// One ledger event.
package struct CaseEvent: Sendable, Codable, Equatable {
    package let id: Int64
    package let at: Date
    package let type: String
    /// Who the writer says it is (a worker's name, an operator).
    package let actor: String
    /// The database login that wrote it, recorded by the database itself (nil before migration 0008).
    package let login: String?
    /// JSON object text.
    package let data: String
}

/// What operators read about cases: counts, one case with its ledger, the triage backlog,
/// the corrections kept for training. Changes to a case are ``CaseLifecycle``'s.
package enum CaseOperations {
    /// Counts per task force and the triage backlog.
    package static func status(on connection: PostgresConnection) async throws -> LedgerStatus {
        var taskForces: [String: TaskForceStatus] = [:]
        for row in try await connection.query(CaseQueries.status, TaskForce.departments.map(\.rawValue)) {
            taskForces[try row.decode("task_force")] = TaskForceStatus(
                open: try row.decode("open"), running: try row.decode("running"), overdue: try row.decode("overdue"),
                escalated: try row.decode("escalated"), resolved: try row.decode("resolved"), discarded: try row.decode("discarded"))
        }
        let triage = try await connection.query(CaseQueries.triageCount).firstRow().decode(0, as: Int.self)
        return LedgerStatus(taskForces: taskForces, triage: triage)
    }

    /// A case with its whole ledger; `nil` when there is no such case.
    package static func record(_ id: Int64, on connection: PostgresConnection) async throws -> CaseRecord? {
        guard let row = try await connection.query(CaseQueries.caseByID, id).first else { return nil }
        let events = try await connection.query(CaseQueries.eventsOfCase, id).map { event in
            CaseEvent(id: try event.decode("id"), at: try event.decode("at"), type: try event.decode("type"),
                      actor: try event.decode("actor"), login: try event.decode("login"), data: try event.decode("data"))
        }
        return CaseRecord(
            id: try row.decode("id"), externalID: try row.decode("external_id"), text: try row.decode("text"),
            enterprise: try row.decode("enterprise"), contact: try row.decode("contact"), channel: try row.decode("channel"),
            language: try row.decode("language"), receivedAt: try row.decode("received_at"),
            taskForce: try TaskForce(parsing: try row.decode("task_force")), confidence: try row.decode("confidence"),
            routingSource: try row.decode("routing_source"), routingTerms: try row.decode("routing_terms"), kind: try row.decode("kind"),
            urgent: try row.decode("urgent"), escalationLevel: try row.decode("escalation_level"),
            state: try CaseState(stored: try row.decode("state"), caseID: id), originalDueAt: try row.decode("original_due_at"),
            dueAt: try row.decode("due_at"), warnAt: try row.decode("warn_at"), deadlineRule: try row.decode("deadline_rule"),
            duplicateOf: try row.decode("duplicate_of"), repeatCount: try row.decode("repeat_count"),
            currentJobID: try row.decode("current_job_id"), resolvedAt: try row.decode("resolved_at"), events: events,
            casework: CaseworkRecord(
                signoffDueAt: try row.decode("signoff_due_at"), signedOffAt: try row.decode("signed_off_at"),
                signedOffBy: try row.decode("signed_off_by"), pausedAt: try row.decode("paused_at"), resumeAt: try row.decode("resume_at"),
                pausedSeconds: try row.decode("paused_seconds"), suspendCount: try row.decode("suspend_count"),
                answeredAt: try row.decode("answered_at"), callbackDueAt: try row.decode("callback_due_at"),
                redoCount: try row.decode("redo_count"), supervisedCount: try row.decode("supervised_count"),
                chasedCount: try row.decode("chased_count"),
                cohandling: try await connection.query(CaseworkQueries.caseCohandling, id).map { row in
                    CaseworkRecord.Cohandling(
                        taskForce: try row.decode("task_force"), question: try row.decode("question"),
                        requestedBy: try row.decode("requested_by"), requestedAt: try row.decode("requested_at"),
                        reply: try row.decode("reply"), repliedBy: try row.decode("replied_by"), repliedAt: try row.decode("replied_at"))
                },
                answers: try await connection.query(CaseworkQueries.caseAnswers, id).map { row in
                    CaseworkRecord.Answer(
                        round: try row.decode("round"), answer: try row.decode("answer"), language: try row.decode("language"),
                        drafted: try row.decode("drafted"), answeredBy: try row.decode("answered_by"),
                        answeredAt: try row.decode("answered_at"), onTime: try row.decode("on_time"),
                        satisfaction: try row.decode("satisfaction"), callbackNote: try row.decode("callback_note"),
                        callbackBy: try row.decode("callback_by"), callbackAt: try row.decode("callback_at"))
                }))
    }

    /// The triage backlog, oldest first.
    package static func triageBacklog(limit: Int = 100, on connection: PostgresConnection) async throws -> [(id: Int64, receivedAt: Date, enterprise: String?, text: String, confidence: Double?)] {
        try await connection.query(CaseQueries.triageBacklog, limit).map { row in
            (try row.decode("id"), try row.decode("received_at"), try row.decode("enterprise"), try row.decode("text"), try row.decode("confidence"))
        }
    }

    /// The corrections operators made, as labelled examples (latest per case).
    package static func corrections(on connection: PostgresConnection) async throws -> [LabelledExample] {
        try await connection.query(CaseQueries.corrections).map { row in
            LabelledExample(text: try row.decode("text"), label: try TaskForce(parsing: try row.decode("to_task_force")))
        }
    }
}
