import Foundation

/// Where the time-limit policy, the working calendar and the routing model come from,
/// for both programs (the dispatcher at intake and reroute, the worker at escalation,
/// reroute, deadline enforcement and in its advisor): an operator's file named by option
/// or environment variable (`TIME_LIMITS_FILE`, `CALENDAR_FILE`, `ROUTING_MODEL`), else the
/// defaults the binary carries. One loader, so intake and escalation never follow
/// different policies, and the advisor routes as intake does.
package enum PolicyFiles {
    /// The environment variable naming the routing model file.
    package static let modelVariable = "ROUTING_MODEL"
    /// The environment variable naming the time-limit policy file.
    package static let timeLimitsVariable = "TIME_LIMITS_FILE"
    /// The environment variable naming the working-calendar file.
    package static let calendarVariable = "CALENDAR_FILE"

    /// Loads both.
    /// - Parameters:
    ///   - timeLimits: a path given by option (wins over the environment).
    ///   - calendar: a path given by option (wins over the environment).
    ///   - environment: where `TIME_LIMITS_FILE` and `CALENDAR_FILE` are read.
    /// - Throws: the data types' own errors, which name the operator's file.
    package static func load(timeLimits: String? = nil, calendar: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (TimeLimitPolicy, WorkCalendar) {
        let policy = try (timeLimits ?? environment[timeLimitsVariable]).map { try TimeLimitPolicy(contentsOf: URL(fileURLWithPath: $0)) }
            ?? TimeLimitPolicy.bundledDefault()
        let workCalendar = try (calendar ?? environment[calendarVariable]).map { try WorkCalendar(contentsOf: URL(fileURLWithPath: $0)) }
            ?? WorkCalendar.bundledDefault()
        return (policy, workCalendar)
    }

    /// The routing model: `path` (an option), else `ROUTING_MODEL`, else the model the
    /// binary carries.
    /// - Throws: ``TaskForcesError`` naming the file when it cannot be read or is not a model.
    package static func loadModel(path: String? = nil,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RoutingModel {
        guard let path = path ?? environment[modelVariable] else { return try RoutingModel.bundled() }
        let data = try TaskForcesError.contents(of: URL(fileURLWithPath: path))
        do {
            return try RoutingModel.decode(data)
        } catch let error as TaskForcesError {
            throw TaskForcesError(code: error.code, message: "\(path): \(error.message)", file: path)
        }
    }

    /// A warning when the calendar's holiday data does not reach `days` past `now`:
    /// deadlines that run into an uncovered year count its public holidays as working
    /// days and skip its make-up working days, so they may come out wrong (each such
    /// deadline's rule says so too). Nil when covered.
    package static func coverageWarning(_ calendar: WorkCalendar, now: Date = Date(), days: Int = 60) -> String? {
        let horizon = now.addingTimeInterval(Double(days) * 86_400)
        guard !calendar.hasHolidayData(for: now) || !calendar.hasHolidayData(for: horizon) else { return nil }
        let covered = calendar.coveredYears.map(String.init).joined(separator: ", ")
        return "warning: the working calendar lists holidays for \(covered) only; deadlines reaching past it are counted with weekends "
            + "only (their rule says WARNING), so public holidays count as working days. Add the coming year's holidays and make-up "
            + "working days to a calendar file (\(calendarVariable) or --calendar; data/policy/calendar.json shows the format)."
    }
}
