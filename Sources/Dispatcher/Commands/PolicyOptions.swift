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
        let (policy, calendar) = try PolicyFiles.load(timeLimits: timeLimits, calendar: self.calendar)
        if let warning = PolicyFiles.coverageWarning(calendar) { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
        return (policy, calendar)
    }
}
