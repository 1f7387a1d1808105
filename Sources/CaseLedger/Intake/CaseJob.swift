import Foundation
import QueueCore
import TaskForces

/// The payload of a case's job, and its queue conventions: the contract between intake,
/// the lifecycle (which enqueues escalations) and the workers' handlers.
///
/// `case_redispatch()` (migrations 0008/0010) builds the same payload, priority and
/// unique key in SQL for moves between task forces.
package struct CaseJob: Sendable, Codable, Equatable {
    /// The job kind workers register their handler under.
    package static let kind = "case"
    package let caseID: Int64
    /// Escalation level the job works at (0 unit, 1 department, 2 task force).
    package let level: Int

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id"
        case level
    }

    package init(caseID: Int64, level: Int) {
        self.caseID = caseID
        self.level = level
    }

    /// The payload as JSON text, `{"case_id":…,"level":…}`.
    package var json: String { "{\"case_id\":\(caseID),\"level\":\(level)}" }

    /// The job that carries this case at this level in its task force's queue.
    package func newJob(queue taskForce: TaskForce, urgent: Bool) -> NewJob {
        NewJob(queue: taskForce.rawValue, kind: Self.kind, payload: json,
               priority: Self.priority(urgent: urgent, level: level), uniqueKey: Self.uniqueKey(caseID: caseID, level: level))
    }

    /// Urgent cases and escalations run first.
    package static func priority(urgent: Bool, level: Int) -> Int16 { Int16((urgent ? 10 : 0) + level * 10) }

    /// One job per case and level.
    package static func uniqueKey(caseID: Int64, level: Int) -> String { "case:\(caseID):\(level)" }
}
