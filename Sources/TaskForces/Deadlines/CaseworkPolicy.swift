import Foundation

/// The casework part of the time-limit policy (`casework` in `time-limits.json`): which
/// escalation levels people own, and the limits of their work — sign-off, suspension,
/// callback. docs/casework.md explains each value.
package struct CaseworkPolicy: Sendable, Equatable {
    /// Escalation levels whose cases are held for people instead of a handler process.
    /// Always holds the highest level: what no handler can solve ends with people, never
    /// in silence.
    package let peopleLevels: Set<Int>
    /// Time to sign a case off (签收) once it is held for people, unless its kind or task
    /// force sets its own.
    package let signOff: TimeLimitPolicy.Limit
    /// The longest one suspension may last (the pause is bounded).
    package let maxSuspension: TimeLimitPolicy.Limit
    /// How often one round of work (until the answer) may be suspended.
    package let maxSuspensions: Int
    /// When the callback (回访) falls due after the answer.
    package let callbackAfter: TimeLimitPolicy.Limit

    /// The values used when the file has no `casework` object.
    package static func defaults(highestLevel: Int) -> CaseworkPolicy {
        CaseworkPolicy(peopleLevels: highestLevel > 0 ? [highestLevel] : [],
                       signOff: .init(hours: 4, clock: .working),
                       maxSuspension: .init(hours: 40, clock: .working), maxSuspensions: 2,
                       callbackAfter: .init(hours: 8, clock: .working))
    }

    package init(peopleLevels: Set<Int>, signOff: TimeLimitPolicy.Limit, maxSuspension: TimeLimitPolicy.Limit,
                 maxSuspensions: Int, callbackAfter: TimeLimitPolicy.Limit) {
        self.peopleLevels = peopleLevels
        self.signOff = signOff
        self.maxSuspension = maxSuspension
        self.maxSuspensions = maxSuspensions
        self.callbackAfter = callbackAfter
    }

    init(field: DeadlineJSONField, highestLevel: Int) throws {
        let members = try field.members(required: ["peopleLevels", "signOff", "maxSuspension", "maxSuspensions", "callbackAfter"],
                                        optional: ["notes"])
        func member(_ key: String) throws -> DeadlineJSONField {
            guard let value = members[key] else { throw field.child(key).failure("is missing") }
            return value
        }
        func limit(_ key: String) throws -> TimeLimitPolicy.Limit {
            let entry = try member(key)
            return try TimeLimitPolicy.parseLimit(try entry.members(required: ["hours", "clock"]), in: entry)
        }
        let levelsField = try member("peopleLevels")
        var levels: Set<Int> = []
        for element in try levelsField.array() {
            let level = try element.integer()
            guard level >= 1, level <= highestLevel else {
                throw element.failure("is \(level); people own escalation levels 1…\(highestLevel) (level 0 is always a handler's)")
            }
            levels.insert(level)
        }
        guard highestLevel == 0 || levels.contains(highestLevel) else {
            throw levelsField.failure("must include the highest level \(highestLevel): what no handler solves ends with people")
        }
        let countField = try member("maxSuspensions")
        let count = try countField.integer()
        guard (0...20).contains(count) else { throw countField.failure("is \(count); use 0 to 20") }
        self.init(peopleLevels: levels, signOff: try limit("signOff"), maxSuspension: try limit("maxSuspension"),
                  maxSuspensions: count, callbackAfter: try limit("callbackAfter"))
    }

    /// Whether cases at `level` are held for people.
    package func isPeoples(level: Int) -> Bool { peopleLevels.contains(level) }
}

/// A clock paused and resumed: the new due times and how long it was paused.
package struct ResumedClock: Sendable, Equatable {
    package let dueAt: Date
    package let warnAt: Date
    /// Seconds paused, on the clock's own count (working seconds on a working clock).
    package let pausedSeconds: TimeInterval
}

extension TimeLimitPolicy {
    /// The sign-off deadline of a case held for people: the kind's `signOff`, else the task
    /// force's, else ``CaseworkPolicy/signOff``; urgent cases get ``urgentFactor`` of it.
    package func signOffDeadline(taskForce: String, kind: String?, urgent: Bool, from start: Date,
                                 calendar: WorkCalendar) -> CaseDeadline {
        let (limit, source): (Limit, String) =
            if let kind, let own = self.kind(kind)?.signOff { (own, "kind \(kind)") }
            else if let own = self.taskForce(taskForce)?.signOff { (own, "task force \(taskForce)") }
            else { (casework.signOff, "casework") }
        let factor = urgent ? urgentFactor : 1
        let due = Self.advance(limit, by: limit.hours * 3600 * factor, from: start, calendar: calendar)
        let warn = Self.advance(limit, by: limit.hours * 3600 * factor * warningFraction, from: start, calendar: calendar)
        var rule = "sign-off, \(source): \(limit)"
        if urgent { rule += " (urgent ×\(Self.formatted(urgentFactor)))" }
        let uncovered = limit.clock == .working ? calendar.uncoveredYears(from: start, to: due) : []
        if !uncovered.isEmpty {
            rule += "; WARNING: calendar has no holidays for \(uncovered.map(String.init).joined(separator: ", ")) (weekends only)"
        }
        return CaseDeadline(dueAt: due, warnAt: warn, rule: rule, kind: kind, uncoveredYears: uncovered)
    }

    /// The clock a case's solution deadline runs on at `level` (the level's limit; level 0
    /// has no people's clock and counts like the task force's default).
    package func solutionClock(taskForce: String, level: Int) -> DeadlineClock {
        if level >= 1, level <= escalationLevels.count { return escalationLevels[level - 1].limit.clock }
        return self.taskForce(taskForce)?.limit.clock ?? .working
    }

    /// The latest a suspension that starts at `start` may last until.
    package func suspensionBound(from start: Date, calendar: WorkCalendar) -> Date {
        Self.advance(casework.maxSuspension, by: casework.maxSuspension.hours * 3600, from: start, calendar: calendar)
    }

    /// When the callback of an answer given at `answeredAt` falls due.
    package func callbackDue(after answeredAt: Date, calendar: WorkCalendar) -> Date {
        Self.advance(casework.callbackAfter, by: casework.callbackAfter.hours * 3600, from: answeredAt, calendar: calendar)
    }

    /// A solution clock paused at `pausedAt` and resumed at `resumedAt`: what was left of
    /// it when it paused is counted again from the resumption, on the same clock (so a
    /// pause across a holiday costs no working time, and a make-up working day counts).
    /// A deadline that had already passed when the clock paused stays where it was.
    package func resume(dueAt: Date, warnAt: Date, pausedAt: Date, resumedAt: Date, clock: DeadlineClock,
                        calendar: WorkCalendar) -> ResumedClock {
        func span(_ from: Date, _ to: Date) -> TimeInterval {
            guard to > from else { return 0 }
            return clock == .working ? calendar.workingTime(from: from, to: to) : to.timeIntervalSince(from)
        }
        func later(_ seconds: TimeInterval) -> Date {
            clock == .working ? calendar.addingWorkingTime(seconds, to: resumedAt) : resumedAt.addingTimeInterval(seconds)
        }
        let paused = span(pausedAt, resumedAt)
        let due = dueAt > pausedAt ? later(span(pausedAt, dueAt)) : dueAt
        let warn = warnAt > pausedAt ? later(span(pausedAt, warnAt)) : warnAt
        return ResumedClock(dueAt: due, warnAt: warn, pausedSeconds: paused)
    }

    static func advance(_ limit: Limit, by seconds: TimeInterval, from start: Date, calendar: WorkCalendar) -> Date {
        switch limit.clock {
        case .calendar: start.addingTimeInterval(seconds)
        case .working: calendar.addingWorkingTime(seconds, to: start)
        }
    }
}
