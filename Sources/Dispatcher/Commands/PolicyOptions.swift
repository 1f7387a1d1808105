import ArgumentParser
import Foundation
import TaskForces

/// The time-limit policy and working calendar: the defaults this binary carries, or
/// files operators edit.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("time-limits"), help: ArgumentHelp("Time-limit policy JSON (default: built in; $TIME_LIMITS_FILE overrides).", valueName: "FILE"))
    var timeLimits: String?
    @Option(help: ArgumentHelp("Working calendar JSON (default: built in; $CALENDAR_FILE overrides).", valueName: "FILE"))
    var calendar: String?

    func load() throws -> (TimeLimitPolicy, WorkCalendar) {
        let environment = ProcessInfo.processInfo.environment
        // init(contentsOf:) names the operator's file (not the built-in one) in errors.
        let policy = try (timeLimits ?? environment["TIME_LIMITS_FILE"]).map { try TimeLimitPolicy(contentsOf: URL(fileURLWithPath: $0)) }
            ?? TimeLimitPolicy.bundledDefault()
        let workCalendar = try (calendar ?? environment["CALENDAR_FILE"]).map { try WorkCalendar(contentsOf: URL(fileURLWithPath: $0)) }
            ?? WorkCalendar.bundledDefault()
        return (policy, workCalendar)
    }
}
