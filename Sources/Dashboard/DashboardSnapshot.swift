import Foundation
import PostgresClient
import TaskForces

/// Everything the dashboard page shows, read in one pass over the `dashboard` views.
/// Encoded as the JSON API (`GET /api/summary`).
package struct DashboardSnapshot: Sendable, Codable {
    /// One task force's row.
    package struct TaskForceSummary: Sendable, Codable {
        package var key: String
        package var nameZh: String
        package var nameEn: String
        /// Unfinished cases by state: queued, running, escalated, triage.
        package var backlog: [String: Int] = [:]
        package var atRisk = 0
        package var breachedOpen = 0
        package var breaches = 0
        package var received = 0
        package var responded = 0
        package var resolved = 0
        package var resolvedOnTime = 0
        package var responseRate: Double?
        package var onTimeResolutionRate: Double?
        package var resolutionRate: Double?
        package var medianResolveSeconds: Double?
        package var p90ResolveSeconds: Double?
        /// Escalations by level reached ("1", "2").
        package var escalations: [String: Int] = [:]
        package var reroutedAway = 0
        package var misroutingRate: Double?
        /// Queue: ready, running, waiting (scheduled/retryable), discarded jobs; oldest ready job's age.
        package var queue: [String: Double] = [:]
        /// This month's casework by people (nil before any case reached them this month).
        package var casework: CaseworkMonth?
    }

    /// One task force's casework KPIs for the current month (`dashboard.casework_kpis`
    /// and `dashboard.casework_ranking`; definitions in docs/dashboards.md).
    package struct CaseworkMonth: Sendable, Codable {
        package var held, signoffs, signoffsOnTime, answers, answersOnTime, callbacks: Int
        package var satisfied, basicallySatisfied, unsatisfied, returns, redos, supervised, supervisedOnBreach, chased: Int
        /// On-time sign-offs / sign-offs (响应率).
        package var responseRate: Double?
        /// On-time answers / answers (办结率).
        package var resolutionRate: Double?
        /// Satisfied or basically satisfied / callbacks (满意率).
        package var satisfactionRate: Double?
        package var returnRate: Double?
        package var redoRate: Double?
        package var score: Double
        package var rank: Int
    }

    package struct HourPoint: Sendable, Codable {
        package var hour: Date
        package var received: Int
        package var resolved: Int
    }

    package struct Worker: Sendable, Codable {
        package var name: String
        package var host: String
        package var pid: Int
        package var taskForces: String
        package var handler: String
        package var slots: Int
        package var lastHeartbeatAt: Date
        package var alive: Bool
        package var runningJobs: Int
        package var completedJobs: Int
        /// Handlers it gave up on that have not returned (stuck but alive).
        package var stuckHandlers: Int
        package var stoppedAt: Date?
    }

    /// A running attempt whose heartbeats say something is wrong.
    package struct TroubledAttempt: Sendable, Codable {
        package var jobID: Int64
        package var queue: String
        package var caseID: Int64?
        package var worker: String?
        package var heartbeatAgeSeconds: Double
        package var runningSeconds: Double
        /// `silent` (lease expired: no heartbeats) or `overrunning` (past its time limit).
        package var status: String
    }

    package struct RiskCase: Sendable, Codable {
        package var caseID: Int64
        package var taskForce: String
        package var level: Int
        package var enterprise: String?
        package var dueAt: Date?
        package var minutesToDue: Int
        package var breached: Bool
    }

    package struct DiscardedJob: Sendable, Codable {
        package var jobID: Int64
        package var queue: String
        package var caseID: Int64?
        package var attempts: Int
        package var finishedAt: Date?
        package var lastError: String?
    }

    /// When the live figures (backlog, at risk, queues, workers) were read.
    package var generatedAt: Date
    /// When the historical figures (received, resolved, rates, time to resolve,
    /// escalations, reroutes, breaches, throughput) were computed.
    package var aggregatesAsOf: Date
    package var taskForces: [TaskForceSummary]
    package var triageBacklog: Int
    /// Received and resolved per hour over the last 48 hours, all task forces.
    package var throughput: [HourPoint]
    /// The same per task force.
    package var throughputByTaskForce: [String: [HourPoint]]
    package var workers: [Worker]
    package var atRiskCases: [RiskCase]
    package var discardedJobs: [DiscardedJob]
    package var troubledAttempts: [TroubledAttempt]

    /// Reads the views.
    /// - Parameter maxStaleness: when the historical figures are older than this, they
    ///   are recomputed first (`dashboard.refresh_if_stale`, one refresher at a time), so
    ///   they are never older than this plus one refresh, whether or not a worker runs.
    ///   nil reads them as they are.
    package static func load(on connection: PostgresConnection, maxStaleness: Duration? = nil) async throws -> DashboardSnapshot {
        let aggregatesAsOf: Date
        if let maxStaleness {
            let milliseconds = max(1_000, Int(maxStaleness / .milliseconds(1)))
            aggregatesAsOf = try await connection.query(DashboardQueries.refreshIfStale, milliseconds).firstRow().decode("as_of")
        } else {
            aggregatesAsOf = try await connection.query(DashboardQueries.freshness).firstRow().decode("aggregates_as_of")
        }
        var summaries: [String: TaskForceSummary] = [:]
        for taskForce in TaskForce.departments {
            summaries[taskForce.rawValue] = TaskForceSummary(key: taskForce.rawValue, nameZh: taskForce.chineseName, nameEn: taskForce.englishName)
        }
        var triage = 0
        for row in try await connection.query(DashboardQueries.backlog) {
            let key: String = try row.decode("task_force")
            let state: String = try row.decode("state")
            let cases: Int = try row.decode("cases")
            if key == "triage" { triage += cases } else { summaries[key]?.backlog[state, default: 0] += cases }
        }
        for row in try await connection.query(DashboardQueries.atRisk) {
            let key: String = try row.decode("task_force")
            summaries[key]?.atRisk = try row.decode("at_risk")
            summaries[key]?.breachedOpen = try row.decode("breached")
        }
        for row in try await connection.query(DashboardQueries.rates) {
            let key: String = try row.decode("task_force")
            summaries[key]?.received = try row.decode("received")
            summaries[key]?.responded = try row.decode("responded")
            summaries[key]?.resolved = try row.decode("resolved")
            summaries[key]?.resolvedOnTime = try row.decode("resolved_on_time")
            summaries[key]?.responseRate = try row.decode("response_rate")
            summaries[key]?.onTimeResolutionRate = try row.decode("on_time_resolution_rate")
            summaries[key]?.resolutionRate = try row.decode("resolution_rate")
        }
        for row in try await connection.query(DashboardQueries.timeToResolve) {
            let key: String = try row.decode("task_force")
            summaries[key]?.medianResolveSeconds = try row.decode("median_resolve_seconds")
            summaries[key]?.p90ResolveSeconds = try row.decode("p90_resolve_seconds")
        }
        for row in try await connection.query(DashboardQueries.escalations) {
            let key: String = try row.decode("task_force")
            let level: Int = try row.decode("level")
            summaries[key]?.escalations[String(level)] = try row.decode("escalations")
        }
        for row in try await connection.query(DashboardQueries.reroutes) {
            let key: String = try row.decode("task_force")
            summaries[key]?.reroutedAway = try row.decode("rerouted_away")
            summaries[key]?.misroutingRate = try row.decode("misrouting_rate")
        }
        for row in try await connection.query(DashboardQueries.breaches) {
            summaries[try row.decode("task_force", as: String.self)]?.breaches = try row.decode("breaches")
        }
        for row in try await connection.query(DashboardQueries.queueDepth) {
            let key: String = try row.decode("queue")
            summaries[key]?.queue = [
                "available": Double(try row.decode("available", as: Int.self)), "running": Double(try row.decode("running", as: Int.self)),
                "waiting": Double(try row.decode("waiting", as: Int.self)), "discarded": Double(try row.decode("discarded", as: Int.self)),
                "oldest_available_seconds": try row.decode("oldest_available_seconds"),
            ]
        }
        for row in try await connection.query(DashboardQueries.caseworkMonth) {
            summaries[try row.decode("task_force", as: String.self)]?.casework = CaseworkMonth(
                held: try row.decode("held"), signoffs: try row.decode("signoffs"), signoffsOnTime: try row.decode("signoffs_on_time"),
                answers: try row.decode("answers"), answersOnTime: try row.decode("answers_on_time"), callbacks: try row.decode("callbacks"),
                satisfied: try row.decode("satisfied"), basicallySatisfied: try row.decode("basically_satisfied"),
                unsatisfied: try row.decode("unsatisfied"), returns: try row.decode("returns"), redos: try row.decode("redos"),
                supervised: try row.decode("supervised"), supervisedOnBreach: try row.decode("supervised_on_breach"),
                chased: try row.decode("chased"), responseRate: try row.decode("response_rate"),
                resolutionRate: try row.decode("resolution_rate"), satisfactionRate: try row.decode("satisfaction_rate"),
                returnRate: try row.decode("return_rate"), redoRate: try row.decode("redo_rate"),
                score: try row.decode("score"), rank: try row.decode("rank"))
        }
        var hours: [Date: HourPoint] = [:]
        var perTaskForce: [String: [HourPoint]] = [:]
        for row in try await connection.query(DashboardQueries.throughput) {
            let hour: Date = try row.decode("hour")
            let point = HourPoint(hour: hour, received: try row.decode("received"), resolved: try row.decode("resolved"))
            perTaskForce[try row.decode("task_force"), default: []].append(point)
            var total = hours[hour] ?? HourPoint(hour: hour, received: 0, resolved: 0)
            total.received += point.received
            total.resolved += point.resolved
            hours[hour] = total
        }
        let workers = try await connection.query(DashboardQueries.workers).map { row in
            Worker(name: try row.decode("name"), host: try row.decode("host"), pid: try row.decode("pid"),
                   taskForces: try row.decode("task_forces"), handler: try row.decode("handler"), slots: try row.decode("slots"),
                   lastHeartbeatAt: try row.decode("last_heartbeat_at"), alive: try row.decode("alive"),
                   runningJobs: try row.decode("running_jobs"), completedJobs: try row.decode("completed_jobs"),
                   stuckHandlers: try row.decode("stuck_handlers"), stoppedAt: try row.decode("stopped_at"))
        }
        let troubled = try await connection.query(DashboardQueries.troubledAttempts).map { row in
            TroubledAttempt(jobID: try row.decode("job_id"), queue: try row.decode("queue"), caseID: try row.decode("case_id"),
                            worker: try row.decode("worker"), heartbeatAgeSeconds: try row.decode("heartbeat_age_seconds"),
                            runningSeconds: try row.decode("running_seconds"), status: try row.decode("status"))
        }
        let risky = try await connection.query(DashboardQueries.atRiskCases).map { row in
            RiskCase(caseID: try row.decode("case_id"), taskForce: try row.decode("task_force"), level: try row.decode("escalation_level"),
                     enterprise: try row.decode("enterprise"), dueAt: try row.decode("due_at"), minutesToDue: try row.decode("minutes_to_due"),
                     breached: try row.decode("breached"))
        }
        let discarded = try await connection.query(DashboardQueries.discarded).map { row in
            DiscardedJob(jobID: try row.decode("job_id"), queue: try row.decode("queue"), caseID: try row.decode("case_id"),
                         attempts: try row.decode("attempts"), finishedAt: try row.decode("finished_at"), lastError: try row.decode("last_error"))
        }
        return DashboardSnapshot(
            generatedAt: Date(), aggregatesAsOf: aggregatesAsOf, taskForces: TaskForce.departments.compactMap { summaries[$0.rawValue] }, triageBacklog: triage,
            throughput: hours.values.sorted { $0.hour < $1.hour }, throughputByTaskForce: perTaskForce,
            workers: workers, atRiskCases: risky, discardedJobs: discarded, troubledAttempts: troubled)
    }

    /// The JSON API's encoding: snake_case keys, ISO 8601 times.
    package func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
