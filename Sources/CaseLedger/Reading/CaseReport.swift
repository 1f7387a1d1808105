import Foundation
import PostgresClient
import TaskForces

/// The outcome table per task force: what happened to the cases routed there.
package struct CaseReportRow: Sendable, Codable, Equatable {
    package let taskForce: String
    package let cases: Int
    package let open: Int
    package let resolved: Int
    /// Escalated: up the chain, or held for the task force's people (any casework state).
    package let escalated: Int
    /// Closed by people: answered, called back, and the enterprise satisfied (docs/casework.md).
    package let closed: Int
    /// Cases rerouted away from this task force (misroutings).
    package let rerouted: Int
    package let medianHoursToResolve: Double?
    package let p95HoursToResolve: Double?
    package let breaches: Int

    enum CodingKeys: String, CodingKey {
        case taskForce = "task_force", cases, open, resolved, escalated, closed, rerouted
        case medianHoursToResolve = "median_hours_to_resolve", p95HoursToResolve = "p95_hours_to_resolve", breaches
    }
}

package enum CaseReport {
    /// The table, one row per task force and one for triage.
    package static func rows(on connection: PostgresConnection) async throws -> [CaseReportRow] {
        let order = TaskForce.allCases.map(\.rawValue)
        return try await connection.query(CaseQueries.report, order).map { row in
            CaseReportRow(
                taskForce: try row.decode("task_force"), cases: try row.decode("cases"), open: try row.decode("open"),
                resolved: try row.decode("resolved"), escalated: try row.decode("escalated"), closed: try row.decode("closed"),
                rerouted: try row.decode("rerouted"),
                medianHoursToResolve: try row.decode("median_hours"), p95HoursToResolve: try row.decode("p95_hours"),
                breaches: try row.decode("breaches"))
        }.sorted { (order.firstIndex(of: $0.taskForce) ?? order.count) < (order.firstIndex(of: $1.taskForce) ?? order.count) }
    }

    /// Cases still waiting for a worker (open, not at the top of the chain).
    package static func pendingCases(on connection: PostgresConnection) async throws -> Int {
        try await connection.query(CaseQueries.pendingCount).firstRow().decode(0, as: Int.self)
    }

    /// A plain-text table.
    package static func format(_ rows: [CaseReportRow]) -> String {
        func duration(_ hours: Double?) -> String {
            guard let hours else { return "-" }
            if hours < 1.0 / 60 { return String(format: "%.0fs", hours * 3600) }
            if hours < 1 { return String(format: "%.1fm", hours * 60) }
            return String(format: "%.1fh", hours)
        }
        var lines = ["task force       cases  resolved  escalated  closed  rerouted  open   median    p95  breaches"]
        for row in rows {
            let cells: [(String, Int)] = [
                (String(row.cases), 6), (String(row.resolved), 10), (String(row.escalated), 11), (String(row.closed), 8), (String(row.rerouted), 10),
                (String(row.open), 6), (duration(row.medianHoursToResolve), 9), (duration(row.p95HoursToResolve), 7), (String(row.breaches), 10),
            ]
            lines.append(row.taskForce.padding(toLength: 15, withPad: " ", startingAt: 0)
                         + cells.map { String(repeating: " ", count: max(0, $0.1 - $0.0.count)) + $0.0 }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
