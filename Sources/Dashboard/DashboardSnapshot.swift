import Foundation
import PostgresClient
import TaskForces

/// Everything the dashboard page shows, read in one pass over the `dashboard` views.
/// Encoded as the JSON API (`GET /api/summary`).
public struct DashboardSnapshot: Sendable, Codable {
    /// One task force's row.
    public struct TaskForceSummary: Sendable, Codable {
        public var key: String
        public var nameZh: String
        public var nameEn: String
        /// Unfinished cases by state: queued, running, escalated, triage.
        public var backlog: [String: Int] = [:]
        public var atRisk = 0
        public var breachedOpen = 0
        public var breaches = 0
        public var received = 0
        public var responded = 0
        public var resolved = 0
        public var resolvedOnTime = 0
        public var responseRate: Double?
        public var onTimeResolutionRate: Double?
        public var resolutionRate: Double?
        public var medianResolveSeconds: Double?
        public var p90ResolveSeconds: Double?
        /// Escalations by level reached ("1", "2").
        public var escalations: [String: Int] = [:]
        public var reroutedAway = 0
        public var misroutingRate: Double?
        /// Queue: ready, running, waiting (scheduled/retryable), discarded jobs; oldest ready job's age.
        public var queue: [String: Double] = [:]
    }

    public struct HourPoint: Sendable, Codable {
        public var hour: Date
        public var received: Int
        public var resolved: Int
    }

    public struct Worker: Sendable, Codable {
        public var name: String
        public var host: String
        public var pid: Int
        public var taskForces: String
        public var handler: String
        public var slots: Int
        public var lastHeartbeatAt: Date
        public var alive: Bool
        public var runningJobs: Int
        public var completedJobs: Int
        /// Handlers it gave up on that have not returned (stuck but alive).
        public var stuckHandlers: Int
        public var stoppedAt: Date?
    }

    /// A running attempt whose heartbeats say something is wrong.
    public struct TroubledAttempt: Sendable, Codable {
        public var jobID: Int64
        public var queue: String
        public var caseID: Int64?
        public var worker: String?
        public var heartbeatAgeSeconds: Double
        public var runningSeconds: Double
        /// `silent` (lease expired: no heartbeats) or `overrunning` (past its time limit).
        public var status: String
    }

    public struct RiskCase: Sendable, Codable {
        public var caseID: Int64
        public var taskForce: String
        public var level: Int
        public var enterprise: String?
        public var dueAt: Date?
        public var minutesToDue: Int
        public var breached: Bool
    }

    public struct DiscardedJob: Sendable, Codable {
        public var jobID: Int64
        public var queue: String
        public var caseID: Int64?
        public var attempts: Int
        public var finishedAt: Date?
        public var lastError: String?
    }

    /// When the live figures (backlog, at risk, queues, workers) were read.
    public var generatedAt: Date
    /// When the historical figures (received, resolved, rates, time to resolve,
    /// escalations, reroutes, breaches, throughput) were computed.
    public var aggregatesAsOf: Date
    public var taskForces: [TaskForceSummary]
    public var triageBacklog: Int
    /// Received and resolved per hour over the last 48 hours, all task forces.
    public var throughput: [HourPoint]
    /// The same per task force.
    public var throughputByTaskForce: [String: [HourPoint]]
    public var workers: [Worker]
    public var atRiskCases: [RiskCase]
    public var discardedJobs: [DiscardedJob]
    public var troubledAttempts: [TroubledAttempt]

    /// Reads the views.
    /// - Parameter maxStaleness: when the historical figures are older than this, they
    ///   are recomputed first (`dashboard.refresh_if_stale`, one refresher at a time), so
    ///   they are never older than this plus one refresh, whether or not a worker runs.
    ///   nil reads them as they are.
    public static func load(on connection: PostgresConnection, maxStaleness: Duration? = nil) async throws -> DashboardSnapshot {
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
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
