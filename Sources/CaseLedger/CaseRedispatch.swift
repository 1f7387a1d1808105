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
    ///
    /// The database function `case_redispatch` (migration 0008) checks that the caller's
    /// login may act for the case's current task force, validates the arguments, cancels
    /// the case's current job, and writes the new job, the case, the correction and the
    /// ledger events as the schema owner, with the caller's login as the actor
    /// (``Move/actor`` is kept as `via`): a department's worker cannot write to another's
    /// queue, nor sign as somebody else.
    /// - Parameters:
    ///   - move: what to move.
    ///   - fromJob: the job that asked for it; when it is no longer the case's job, nothing happens.
    /// - Returns: the new job's id, or nil when `fromJob` was stale.
    @discardableResult
    public static func move(_ move: Move, fromJob: Int64? = nil, policy: TimeLimitPolicy, calendar: WorkCalendar,
                            on connection: PostgresConnection) async throws -> Int64? {
        let kind = move.kind.flatMap { policy.kindKeys.contains($0) ? $0 : nil }
        let deadline = try policy.deadline(taskForce: move.to.rawValue, kind: kind, urgent: move.urgent,
                                           escalationLevel: move.level, receivedAt: move.deadlineFrom, calendar: calendar)
        let row = try await connection.query(
            CaseQueries.redispatch, move.caseID, fromJob, move.to.rawValue, move.source, move.eventType, move.reason, move.actor,
            move.level, deadline.dueAt, deadline.warnAt, deadline.rule
        ).first
        return try row?.decode(0, as: Int64?.self)
    }

    /// Hands a case to a person (triage) inside the caller's transaction, through the
    /// database function `case_to_triage` (same checks as ``move(_:fromJob:policy:calendar:on:)``).
    /// - Returns: false when `fromJob` is no longer the case's job or the case is not open.
    @discardableResult
    public static func toTriage(_ caseID: Int64, fromJob: Int64?, reason: String, via: String,
                                on connection: PostgresConnection) async throws -> Bool {
        try await connection.query(CaseQueries.toTriage, caseID, fromJob, reason, via).first?.decode(0, as: Bool.self) ?? false
    }
}
