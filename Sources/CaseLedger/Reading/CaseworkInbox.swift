import Foundation
import PostgresClient

/// What an officer's inbox shows: the people's cases the login may see (row-level
/// security decides), most urgent first, and the co-handling requests addressed to it.
package struct CaseworkInbox: Sendable {
    package struct Item: Sendable {
        package var id: Int64
        package var taskForce: String
        package var state: String
        package var level: Int
        package var enterprise: String?
        package var text: String
        package var language: String
        package var signoffDueAt: Date?
        package var dueAt: Date?
        package var pausedAt: Date?
        package var resumeAt: Date?
        package var callbackDueAt: Date?
        package var redoCount: Int
        package var supervisedCount: Int
        package var chasedCount: Int
    }

    package struct Request: Sendable {
        package var caseID: Int64
        package var taskForce: String
        package var leadTaskForce: String
        package var question: String
        package var requestedBy: String
        package var requestedAt: Date
    }

    package var cases: [Item]
    package var requests: [Request]

    /// Reads the inbox of the connection's login.
    /// - Parameters:
    ///   - state: only this state (nil: all people's states).
    ///   - after: keyset pagination: the (due time, id) of the last row of the previous page.
    package static func read(state: String?, after: (dueAt: Date?, id: Int64)? = nil, limit: Int,
                             on connection: PostgresConnection) async throws -> CaseworkInbox {
        let rows = try await connection.query(CaseworkQueries.inbox, state, after.map { $0.dueAt ?? .distantFuture }, after?.id, limit)
        let cases = try rows.map { row in
            Item(id: try row.decode("id"), taskForce: try row.decode("task_force"), state: try row.decode("state"),
                 level: try row.decode("escalation_level"), enterprise: try row.decode("enterprise"), text: try row.decode("text"),
                 language: try row.decode("language"), signoffDueAt: try row.decode("signoff_due_at"), dueAt: try row.decode("due_at"),
                 pausedAt: try row.decode("paused_at"), resumeAt: try row.decode("resume_at"),
                 callbackDueAt: try row.decode("callback_due_at"), redoCount: try row.decode("redo_count"),
                 supervisedCount: try row.decode("supervised_count"), chasedCount: try row.decode("chased_count"))
        }
        return CaseworkInbox(cases: cases, requests: try await requests(limit: limit, on: connection))
    }

    /// The co-handling requests waiting for the connection's login, oldest first.
    package static func requests(limit: Int, on connection: PostgresConnection) async throws -> [Request] {
        try await connection.query(CaseworkQueries.cohandlingRequests, limit).map { row in
            Request(caseID: try row.decode("case_id"), taskForce: try row.decode("task_force"),
                    leadTaskForce: try row.decode("lead_task_force"), question: try row.decode("question"),
                    requestedBy: try row.decode("requested_by"), requestedAt: try row.decode("requested_at"))
        }
    }

    /// The inbox as JSON-ready values (times in ISO 8601).
    package func jsonObject() -> [String: Any] {
        func time(_ date: Date?) -> Any { date.map(PostgresTimestamp.format) ?? NSNull() }
        return [
            "cases": cases.map { item -> [String: Any] in
                ["id": item.id, "task_force": item.taskForce, "state": item.state, "level": item.level,
                 "enterprise": item.enterprise ?? NSNull(), "text": item.text, "language": item.language,
                 "signoff_due_at": time(item.signoffDueAt), "due_at": time(item.dueAt), "paused_at": time(item.pausedAt),
                 "resume_at": time(item.resumeAt), "callback_due_at": time(item.callbackDueAt), "redo_count": item.redoCount,
                 "supervised_count": item.supervisedCount, "chased_count": item.chasedCount]
            },
            "cohandling_requests": requests.map { request -> [String: Any] in
                ["case_id": request.caseID, "task_force": request.taskForce, "lead_task_force": request.leadTaskForce,
                 "question": request.question, "requested_by": request.requestedBy, "requested_at": time(request.requestedAt)]
            },
        ]
    }
}
