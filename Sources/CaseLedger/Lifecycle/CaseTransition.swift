import Foundation
import PostgresClient
import TaskForces

/// A case as a transition sees it: the row ``CaseLifecycle`` locks before deciding.
package struct CaseSnapshot: Sendable, Equatable {
    package var id: Int64
    package var text: String
    package var taskForce: TaskForce
    package var state: CaseState
    package var currentJobID: Int64?
    package var receivedAt: Date
    package var kind: String?
    package var urgent: Bool
    /// 0 unit, 1 department, 2 task force (the top of the chain).
    package var level: Int
    /// The casework clocks and counters (docs/casework.md); nil or 0 before people hold the case.
    package var casework = CaseworkFacts()

    package init(id: Int64, text: String = "", taskForce: TaskForce, state: CaseState, currentJobID: Int64?,
                receivedAt: Date = Date(), kind: String? = nil, urgent: Bool = false, level: Int = 0) {
        self.id = id
        self.text = text
        self.taskForce = taskForce
        self.state = state
        self.currentJobID = currentJobID
        self.receivedAt = receivedAt
        self.kind = kind
        self.urgent = urgent
        self.level = level
    }

    /// Decodes a row of `LifecycleQueries.lockCase`.
    init(row: PostgresRow) throws {
        let id: Int64 = try row.decode("id")
        self.init(
            id: id, text: try row.decode("text"), taskForce: try TaskForce(parsing: try row.decode("task_force")),
            state: try CaseState(stored: try row.decode("state"), caseID: id), currentJobID: try row.decode("current_job_id"),
            receivedAt: try row.decode("received_at"), kind: try row.decode("kind"), urgent: try row.decode("urgent"),
            level: try row.decode("escalation_level"))
        casework = CaseworkFacts(
            language: try row.decode("language"), signoffDueAt: try row.decode("signoff_due_at"), dueAt: try row.decode("due_at"),
            warnAt: try row.decode("warn_at"), pausedAt: try row.decode("paused_at"), resumeAt: try row.decode("resume_at"),
            pausedSeconds: try row.decode("paused_seconds"), suspendCount: try row.decode("suspend_count"),
            redoCount: try row.decode("redo_count"))
    }
}

/// What somebody asks of a case.
package enum CaseCommand: Sendable, Equatable {
    /// One level up: a handler asked (`fromJob`), its job was discarded (`fromJob`), or
    /// the deadline passed (`fromJob` nil).
    case escalate(fromJob: Int64?)
    /// A handler found the case misrouted; `moves` is how often it was moved already.
    case rerouteByHandler(to: TaskForce, fromJob: Int64, moves: Int)
    /// An operator moves the case to another task force (or assigns it out of triage).
    case rerouteByOperator(to: TaskForce)
    /// An operator withdraws the case.
    case cancel
}

/// What a command does to a case, decided without touching the database.
package enum CaseDecision: Sendable, Equatable {
    /// Nothing: the job that asked is no longer the case's, or the case moved on (a late
    /// or repeated request, which is normal in a queue with retries).
    case stale
    /// A new job one level up; `cancelJob` is the case's current job when it is not the
    /// one asking (it may still be pending).
    case escalate(toLevel: Int, cancelJob: Int64?)
    /// At the top of the chain: the case becomes `escalated`, for the task force's people.
    case escalateToTop(cancelJob: Int64?)
    /// To another task force through `case_redispatch()`: `event` is `rerouted` (a
    /// misrouting, source `corrected`) or `assigned` (out of triage, source `manual`).
    case redispatch(to: TaskForce, event: LedgerEventType, source: String)
    /// To triage through `case_to_triage()`, with why a person must decide.
    case toTriage(note: String?)
    /// Closed as `cancelled`; its current job (if any) is cancelled.
    case cancel(cancelJob: Int64?)
}

/// The rules of a case's life, as a pure function: (case, command) → decision or a
/// refusal naming the case, its state and what cannot be done. ``CaseLifecycle`` locks
/// the case, asks ``decide(_:for:)``, and performs the decision.
package enum CaseTransition {
    /// The highest escalation level (the task force itself).
    package static let topLevel = 2
    /// After this many moves, a handler's reroute sends the case to triage instead, so
    /// that cases cannot bounce between task forces.
    package static let handlerMovesBeforeTriage = 2

    /// The state a case is born in at intake: `merged` into an open case of the same
    /// enterprise (a repeated demand), `triage` when no task force took it, else `open`.
    package static func intakeState(routedTo taskForce: TaskForce, mergedInto original: Int64?) -> CaseState {
        if original != nil { return .merged }
        return taskForce == .triage ? .triage : .open
    }

    package static func decide(_ command: CaseCommand, for snapshot: CaseSnapshot) throws(CaseError) -> CaseDecision {
        switch command {
        case .escalate(let fromJob):
            guard snapshot.state == .open, fromJob == nil || snapshot.currentJobID == fromJob else { return .stale }
            let cancel = snapshot.currentJobID.flatMap { $0 == fromJob ? nil : $0 }
            return snapshot.level < topLevel ? .escalate(toLevel: snapshot.level + 1, cancelJob: cancel) : .escalateToTop(cancelJob: cancel)

        case .rerouteByHandler(let target, let fromJob, let moves):
            guard snapshot.state == .open, snapshot.currentJobID == fromJob else { return .stale }
            if target == .triage || target == snapshot.taskForce { return .toTriage(note: nil) }
            if moves >= handlerMovesBeforeTriage { return .toTriage(note: "rerouted \(moves) times already: a person decides") }
            return .redispatch(to: target, event: .rerouted, source: "corrected")

        case .rerouteByOperator(let target):
            guard target != .triage else {
                throw .invalidInput("reroute to a task force; to send a case back to triage, cancel and resubmit it",
                                    caseID: snapshot.id, field: "to")
            }
            guard snapshot.state.isWaiting else { throw .illegal(snapshot.id, state: snapshot.state, action: "rerouted") }
            guard target != snapshot.taskForce else {
                throw .invalidInput("case \(snapshot.id) is already with \(target.rawValue)", caseID: snapshot.id, field: "to")
            }
            return snapshot.state == .triage
                ? .redispatch(to: target, event: .assigned, source: "manual")
                : .redispatch(to: target, event: .rerouted, source: "corrected")

        case .cancel:
            guard snapshot.state.isWaiting || snapshot.state == .escalated || snapshot.state.isWithPeople else {
                throw .illegal(snapshot.id, state: snapshot.state, action: "cancelled")
            }
            return .cancel(cancelJob: snapshot.currentJobID)
        }
    }
}
