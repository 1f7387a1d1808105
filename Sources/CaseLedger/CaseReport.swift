import Foundation
import PostgresClient
import TaskForces

/// The outcome table per task force: what happened to the cases routed there.
public struct CaseReportRow: Sendable, Codable, Equatable {
    public let taskForce: String
    public let cases: Int
    public let open: Int
    public let resolved: Int
    public let escalated: Int
    /// Cases rerouted away from this task force (misroutings).
    public let rerouted: Int
    public let medianHoursToResolve: Double?
    public let p95HoursToResolve: Double?
    public let breaches: Int

    enum CodingKeys: String, CodingKey {
        case taskForce = "task_force", cases, open, resolved, escalated, rerouted
        case medianHoursToResolve = "median_hours_to_resolve", p95HoursToResolve = "p95_hours_to_resolve", breaches
    }
}

public enum CaseReport {
    /// One statement over cases and their events. Index: `cases_task_force_state`,
    /// `case_events_case`.
    static let query = """
        WITH tf(name) AS (SELECT unnest($1::text[])),
        rerouted AS (
            SELECT e.data->>'from' AS name, count(DISTINCT e.case_id) AS n
            FROM case_events e WHERE e.type IN ('rerouted') GROUP BY 1),
        breaches AS (
            SELECT c.task_force AS name, count(*) AS n
            FROM case_events e JOIN cases c ON c.id = e.case_id
            WHERE e.type = 'deadline_breached' GROUP BY 1)
        SELECT tf.name AS task_force,
               count(c.id) FILTER (WHERE c.state <> 'merged') AS cases,
               count(c.id) FILTER (WHERE c.state IN ('open', 'triage')) AS open,
               count(c.id) FILTER (WHERE c.state = 'resolved') AS resolved,
               count(c.id) FILTER (WHERE c.state = 'escalated' OR (c.state = 'open' AND c.escalation_level > 0)) AS escalated,
               coalesce(max(r.n), 0) AS rerouted,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.resolved_at - c.received_at) / 3600)
                   FILTER (WHERE c.state = 'resolved') AS median_hours,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM c.resolved_at - c.received_at) / 3600)
                   FILTER (WHERE c.state = 'resolved') AS p95_hours,
               coalesce(max(b.n), 0) AS breaches
        FROM tf
        LEFT JOIN cases c ON c.task_force = tf.name
        LEFT JOIN rerouted r ON r.name = tf.name
        LEFT JOIN breaches b ON b.name = tf.name
        GROUP BY tf.name
        """

    /// The table, one row per task force and one for triage.
    public static func rows(on connection: PostgresConnection) async throws -> [CaseReportRow] {
        let order = TaskForce.allCases.map(\.rawValue)
        return try await connection.query(query, order).map { row in
            CaseReportRow(
                taskForce: try row.decode("task_force"), cases: try row.decode("cases"), open: try row.decode("open"),
                resolved: try row.decode("resolved"), escalated: try row.decode("escalated"), rerouted: try row.decode("rerouted"),
                medianHoursToResolve: try row.decode("median_hours"), p95HoursToResolve: try row.decode("p95_hours"),
                breaches: try row.decode("breaches"))
        }.sorted { order.firstIndex(of: $0.taskForce)! < order.firstIndex(of: $1.taskForce)! }
    }

    /// Cases still waiting for a worker (open, not at the top of the chain).
    public static func pendingCases(on connection: PostgresConnection) async throws -> Int {
        try await connection.query("SELECT count(*) FROM cases WHERE state = 'open'").first!.decode(0, as: Int.self)
    }

    /// A plain-text table.
    public static func format(_ rows: [CaseReportRow]) -> String {
        func duration(_ hours: Double?) -> String {
            guard let hours else { return "-" }
            if hours < 1.0 / 60 { return String(format: "%.0fs", hours * 3600) }
            if hours < 1 { return String(format: "%.1fm", hours * 60) }
            return String(format: "%.1fh", hours)
        }
        var lines = ["task force       cases  resolved  escalated  rerouted  open   median    p95  breaches"]
        for row in rows {
            let cells: [(String, Int)] = [
                (String(row.cases), 6), (String(row.resolved), 10), (String(row.escalated), 11), (String(row.rerouted), 10),
                (String(row.open), 6), (duration(row.medianHoursToResolve), 9), (duration(row.p95HoursToResolve), 7), (String(row.breaches), 10),
            ]
            lines.append(row.taskForce.padding(toLength: 15, withPad: " ", startingAt: 0)
                         + cells.map { String(repeating: " ", count: max(0, $0.1 - $0.0.count)) + $0.0 }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
