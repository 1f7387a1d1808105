import Foundation
import PostgresClient
import QueueCore
import TaskForces

/// Moves a case (already locked by the caller) to another task force: a new deadline, a
/// new job in that task force's queue, the correction kept as a labelled example, and
/// the ledger events (written by the database function `case_redispatch`). Shared by operators' reroutes and triage assignments
/// (``CaseOperations/reroute(_:to:reason:actor:policy:calendar:on:)``) and by handlers'
/// reroutes in the worker.
public enum CaseRedispatch {
    /// What to move, and how it is recorded.
    public struct Move: Sendable {
        public var caseID: Int64
        public var text: String
        public var from: String
        public var to: TaskForce
        public var level: Int
        public var urgent: Bool
        /// The case's kind; one no longer in the policy falls back to the task force's limit.
        public var kind: String?
        /// Where the new deadline counts from.
        public var deadlineFrom: Date
        /// `manual` (out of triage) or `corrected` (a misrouting).
        public var source: String
        /// `assigned` or `rerouted`.
        public var eventType: String
        public var reason: String
        public var actor: String

        public init(caseID: Int64, text: String, from: String, to: TaskForce, level: Int, urgent: Bool, kind: String?,
                    deadlineFrom: Date, source: String, eventType: String, reason: String, actor: String) {
            self.caseID = caseID
            self.text = text
            self.from = from
            self.to = to
            self.level = level
            self.urgent = urgent
            self.kind = kind
            self.deadlineFrom = deadlineFrom
            self.source = source
            self.eventType = eventType
            self.reason = reason
            self.actor = actor
        }
    }

    /// Performs the move inside the caller's transaction.
    /// - Returns: the new job's id.
    @discardableResult
    public static func move(_ move: Move, policy: TimeLimitPolicy, calendar: WorkCalendar,
                            on connection: PostgresConnection) async throws -> Int64 {
        let kind = move.kind.flatMap { policy.kindKeys.contains($0) ? $0 : nil }
        let deadline = try policy.deadline(taskForce: move.to.rawValue, kind: kind, urgent: move.urgent,
                                           escalationLevel: move.level, receivedAt: move.deadlineFrom, calendar: calendar)
        let moves = try await connection.query(CaseQueries.movesOfCase, move.caseID).first!.decode(0, as: Int.self)
        // case_redispatch (migration 0007) checks that the caller may act for the case's
        // current task force, then writes the job, the case, the correction and the
        // events as the owner: a department's worker cannot write to another's queue.
        let job = try await connection.query(
            CaseQueries.redispatch, move.caseID, move.to.rawValue, move.source, move.eventType, move.reason, move.actor,
            move.level, Int(CaseJob.priority(urgent: move.urgent, level: move.level)),
            "case:\(move.caseID):\(move.level):r\(moves + 1)", deadline.dueAt, deadline.warnAt, deadline.rule
        ).first!.decode(0, as: Int64.self)
        return job
    }
}
