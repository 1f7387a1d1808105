import Foundation
import PostgresClient

/// The KPIs of casework per task force and month (`dashboard.casework_kpis` and
/// `dashboard.casework_ranking`, migration 0014; definitions in docs/dashboards.md).
package struct CaseworkKPI: Sendable, Equatable {
    package var month: Date
    package var taskForce: String
    package var held, signoffs, signoffsOnTime, answers, answersOnTime, callbacks: Int
    package var satisfied, basicallySatisfied, unsatisfied, returns, redos, supervised, supervisedOnBreach, chased: Int
    /// nil when there was nothing to measure.
    package var responseRate, resolutionRate, satisfactionRate, returnRate, redoRate: Double?
    package var score: Double
    package var rank: Int

    /// Reads the KPIs of the month containing `month` (every month when nil).
    package static func read(month: Date?, on connection: PostgresConnection) async throws -> [CaseworkKPI] {
        try await connection.query(CaseworkQueries.kpis, month).map { row in
            CaseworkKPI(
                month: try row.decode("month"), taskForce: try row.decode("task_force"), held: try row.decode("held"),
                signoffs: try row.decode("signoffs"), signoffsOnTime: try row.decode("signoffs_on_time"),
                answers: try row.decode("answers"), answersOnTime: try row.decode("answers_on_time"),
                callbacks: try row.decode("callbacks"), satisfied: try row.decode("satisfied"),
                basicallySatisfied: try row.decode("basically_satisfied"), unsatisfied: try row.decode("unsatisfied"),
                returns: try row.decode("returns"), redos: try row.decode("redos"), supervised: try row.decode("supervised"),
                supervisedOnBreach: try row.decode("supervised_on_breach"), chased: try row.decode("chased"),
                responseRate: try row.decode("response_rate"), resolutionRate: try row.decode("resolution_rate"),
                satisfactionRate: try row.decode("satisfaction_rate"), returnRate: try row.decode("return_rate"),
                redoRate: try row.decode("redo_rate"), score: try row.decode("score"), rank: try row.decode("rank"))
        }
    }

    /// JSON-ready values.
    package var jsonObject: [String: Any] {
        func rate(_ value: Double?) -> Any { value ?? NSNull() }
        return ["month": PostgresTimestamp.format(month), "task_force": taskForce, "held": held, "signoffs": signoffs,
                "signoffs_on_time": signoffsOnTime, "answers": answers, "answers_on_time": answersOnTime, "callbacks": callbacks,
                "satisfied": satisfied, "basically_satisfied": basicallySatisfied, "unsatisfied": unsatisfied, "returns": returns,
                "redos": redos, "supervised": supervised, "supervised_on_breach": supervisedOnBreach, "chased": chased,
                "response_rate": rate(responseRate), "resolution_rate": rate(resolutionRate),
                "satisfaction_rate": rate(satisfactionRate), "return_rate": rate(returnRate), "redo_rate": rate(redoRate),
                "score": score, "rank": rank]
    }

    /// The KPI table as people read it: one row per task force, rates in percent.
    package static func table(_ rows: [CaseworkKPI]) -> String {
        func percent(_ value: Double?) -> String { value.map { String(format: "%.0f%%", $0 * 100) } ?? "-" }
        var lines = ["month    rank  task force       held  response  resolution  satisfaction  returns  redo   supervised  chased"]
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM"
        for row in rows {
            lines.append([
                formatter.string(from: row.month).padding(toLength: 8, withPad: " ", startingAt: 0),
                String(row.rank).padding(toLength: 5, withPad: " ", startingAt: 0),
                row.taskForce.padding(toLength: 16, withPad: " ", startingAt: 0),
                String(row.held).padding(toLength: 5, withPad: " ", startingAt: 0),
                percent(row.responseRate).padding(toLength: 9, withPad: " ", startingAt: 0),
                percent(row.resolutionRate).padding(toLength: 11, withPad: " ", startingAt: 0),
                percent(row.satisfactionRate).padding(toLength: 13, withPad: " ", startingAt: 0),
                percent(row.returnRate).padding(toLength: 8, withPad: " ", startingAt: 0),
                percent(row.redoRate).padding(toLength: 6, withPad: " ", startingAt: 0),
                String(row.supervised).padding(toLength: 11, withPad: " ", startingAt: 0),
                String(row.chased),
            ].joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
