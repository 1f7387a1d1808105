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
    /// The table, one row per task force and one for triage.
    public static func rows(on connection: PostgresConnection) async throws -> [CaseReportRow] {
        let order = TaskForce.allCases.map(\.rawValue)
        return try await connection.query(CaseQueries.report, order).map { row in
            CaseReportRow(
                taskForce: try row.decode("task_force"), cases: try row.decode("cases"), open: try row.decode("open"),
                resolved: try row.decode("resolved"), escalated: try row.decode("escalated"), rerouted: try row.decode("rerouted"),
                medianHoursToResolve: try row.decode("median_hours"), p95HoursToResolve: try row.decode("p95_hours"),
                breaches: try row.decode("breaches"))
        }.sorted { (order.firstIndex(of: $0.taskForce) ?? order.count) < (order.firstIndex(of: $1.taskForce) ?? order.count) }
    }

    /// Cases still waiting for a worker (open, not at the top of the chain).
    public static func pendingCases(on connection: PostgresConnection) async throws -> Int {
        try await connection.query(CaseQueries.pendingCount).firstRow().decode(0, as: Int.self)
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
