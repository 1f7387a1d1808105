import Foundation
import TaskForces
import Testing

/// The people's clocks (docs/casework.md): sign-off and solution deadlines, a solution clock
/// paused while a case is suspended, and the policy's `casework` object.
@Suite("Casework clocks and policy")
struct CaseworkPolicyTests {
    static let policy = try! TimeLimitPolicy.bundledDefault()
    static let calendar = try! WorkCalendar.bundledDefault()
    static let hour: TimeInterval = 3600

    static func shanghai(_ year: Int, _ month: Int, _ day: Int, _ hourOfDay: Int, _ minute: Int = 0) throws -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "Asia/Shanghai"))
        return try #require(calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hourOfDay, minute: minute)))
    }

    /// A policy file with one escalation level more than the base, and the given casework object.
    static func policyJSON(casework: String?, signOff: String? = nil) -> String {
        """
        {"urgentFactor": 0.5, "warningFraction": 0.75,
         "taskForces": {"triage": {"names": {"zh": "人工分拨", "en": "triage"}, "hours": 8, "clock": "working"\(signOff.map { ", \"signOff\": \($0)" } ?? "")}},
         "kinds": [{"key": "scope", "names": {"zh": "范围", "en": "scope"}, "hours": 3, "clock": "calendar", "keywords": {"zh": ["经营范围"], "en": ["business scope"]}}],
         "escalationLevels": [{"level": 1, "name": "department", "hours": 24, "clock": "working"},
                              {"level": 2, "name": "task_force", "hours": 48, "clock": "working"}]\(casework.map { ", \"casework\": \($0)" } ?? "")}
        """
    }

    static let validCasework = #"""
        {"peopleLevels": [2], "signOff": {"hours": 4, "clock": "working"}, "maxSuspension": {"hours": 40, "clock": "working"},
         "maxSuspensions": 2, "callbackAfter": {"hours": 8, "clock": "working"}}
        """#

    // MARK: The bundled policy

    @Test("the bundled policy: the top level is people's, sign-off within 4 working hours, a business-scope change's within half an hour")
    func bundledCaseworkPolicy() throws {
        let casework = Self.policy.casework
        #expect(casework.peopleLevels == [2])
        #expect(casework.isPeoples(level: 2) && !casework.isPeoples(level: 1) && !casework.isPeoples(level: 0))
        #expect(casework.maxSuspensions == 2)
        // Monday 2026-03-02 09:00: four working hours later is 14:00 (the lunch hour does not count).
        let monday = try Self.shanghai(2026, 3, 2, 9)
        let standard = Self.policy.signOffDeadline(taskForce: "tax", kind: nil, urgent: false, from: monday, calendar: Self.calendar)
        #expect(standard.dueAt == (try Self.shanghai(2026, 3, 2, 14)))
        #expect(standard.rule.contains("casework"))
        let scope = Self.policy.signOffDeadline(taskForce: "tax", kind: "business_scope_change", urgent: false, from: monday, calendar: Self.calendar)
        #expect(scope.dueAt == monday.addingTimeInterval(0.5 * Self.hour))
        #expect(scope.rule.contains("kind business_scope_change"))
        let urgent = Self.policy.signOffDeadline(taskForce: "tax", kind: nil, urgent: true, from: monday, calendar: Self.calendar)
        #expect(urgent.dueAt == (try Self.shanghai(2026, 3, 2, 11)))
    }

    @Test("a suspension is bounded by the policy, and the callback falls due a working day after the answer")
    func suspensionBoundAndCallback() throws {
        // Friday 2026-03-06 17:00: 40 working hours are 5 working days of 8 hours → Friday 2026-03-13 17:00.
        let friday = try Self.shanghai(2026, 3, 6, 17)
        #expect(Self.policy.suspensionBound(from: friday, calendar: Self.calendar) == (try Self.shanghai(2026, 3, 13, 17)))
        // 8 working hours after Friday 17:00: Monday 17:00.
        #expect(Self.policy.callbackDue(after: friday, calendar: Self.calendar) == (try Self.shanghai(2026, 3, 9, 17)))
    }

    // MARK: Pause and resume

    @Test("a pause across the Spring Festival holiday costs no working time, and its make-up Saturday counts")
    func pauseAcrossHolidayAndMakeupDay() throws {
        // Due Friday 2026-02-13 16:00 on the working clock; paused at 14:00 with two working hours left.
        let due = try Self.shanghai(2026, 2, 13, 16)
        let warn = try Self.shanghai(2026, 2, 13, 15, 30)
        let paused = try Self.shanghai(2026, 2, 13, 14)
        // Resumed Tuesday 2026-02-24 09:00, the first working morning after the holiday (15th–23rd).
        let resumed = try Self.shanghai(2026, 2, 24, 9)
        let clock = Self.policy.resume(dueAt: due, warnAt: warn, pausedAt: paused, resumedAt: resumed,
                                       clock: .working, calendar: Self.calendar)
        // What was left is counted again from the resumption: 2 h → 11:00, 1.5 h → 10:30.
        #expect(clock.dueAt == (try Self.shanghai(2026, 2, 24, 11)))
        #expect(clock.warnAt == (try Self.shanghai(2026, 2, 24, 10, 30)))
        // Paused working time: Friday 14:00–17:30 (3.5 h), the make-up Saturday 14th (8 h),
        // nothing for the nine holidays, Tuesday 08:30–09:00 (0.5 h).
        #expect(clock.pausedSeconds == 12 * Self.hour)
    }

    @Test("a case resumed on the make-up Saturday counts on from there, over the lunch break")
    func resumeOnTheMakeupSaturday() throws {
        // Due Saturday 2026-02-14 09:30 (the make-up day); paused Friday 17:00 with 1.5 working hours left.
        let due = try Self.shanghai(2026, 2, 14, 9, 30)
        let paused = try Self.shanghai(2026, 2, 13, 17)
        let resumed = try Self.shanghai(2026, 2, 14, 12)
        let clock = Self.policy.resume(dueAt: due, warnAt: due, pausedAt: paused, resumedAt: resumed,
                                       clock: .working, calendar: Self.calendar)
        #expect(clock.dueAt == (try Self.shanghai(2026, 2, 14, 14, 30)))
        #expect(clock.pausedSeconds == 4 * Self.hour)
    }

    @Test("on a calendar clock the deadline moves by exactly the time paused, holiday or not")
    func calendarClockPauses() throws {
        let due = try Self.shanghai(2026, 2, 13, 16)
        let paused = try Self.shanghai(2026, 2, 13, 14)
        let resumed = try Self.shanghai(2026, 2, 16, 14)
        let clock = Self.policy.resume(dueAt: due, warnAt: due, pausedAt: paused, resumedAt: resumed,
                                       clock: .calendar, calendar: Self.calendar)
        #expect(clock.dueAt == (try Self.shanghai(2026, 2, 16, 16)))
        #expect(clock.pausedSeconds == 72 * Self.hour)
    }

    @Test("a deadline already passed when the clock paused stays passed")
    func breachedClockStaysBreached() throws {
        let due = try Self.shanghai(2026, 3, 2, 10)
        let clock = Self.policy.resume(dueAt: due, warnAt: due, pausedAt: try Self.shanghai(2026, 3, 2, 11),
                                       resumedAt: try Self.shanghai(2026, 3, 3, 11), clock: .working, calendar: Self.calendar)
        #expect(clock.dueAt == due)
    }

    // MARK: The policy file

    @Test("a policy without a casework object holds the top level for people, with the default clocks")
    func caseworkDefaults() throws {
        let policy = try TimeLimitPolicy(json: Data(Self.policyJSON(casework: nil).utf8))
        #expect(policy.casework.peopleLevels == [2])
        #expect(policy.casework.signOff.hours == 4 && policy.casework.signOff.clock == .working)
    }

    @Test("a task force's own signOff wins over the casework default")
    func taskForceSignOff() throws {
        let policy = try TimeLimitPolicy(json: Data(Self.policyJSON(casework: Self.validCasework,
                                                                    signOff: #"{"hours": 1, "clock": "calendar"}"#).utf8))
        let start = try Self.shanghai(2026, 3, 2, 9)
        let deadline = policy.signOffDeadline(taskForce: "triage", kind: nil, urgent: false, from: start, calendar: Self.calendar)
        #expect(deadline.dueAt == start.addingTimeInterval(Self.hour))
        #expect(deadline.rule.contains("task force triage"))
    }

    struct BadCasework: Sendable, CustomTestStringConvertible {
        let casework: String
        let message: String
        var testDescription: String { message }
    }

    @Test("a malformed casework object is refused with the field that is wrong", arguments: [
        BadCasework(casework: #"{"peopleLevels": [1], "signOff": {"hours": 4, "clock": "working"}, "maxSuspension": {"hours": 40, "clock": "working"}, "maxSuspensions": 2, "callbackAfter": {"hours": 8, "clock": "working"}}"#,
                    message: "casework.peopleLevels"),
        BadCasework(casework: #"{"peopleLevels": [0, 2], "signOff": {"hours": 4, "clock": "working"}, "maxSuspension": {"hours": 40, "clock": "working"}, "maxSuspensions": 2, "callbackAfter": {"hours": 8, "clock": "working"}}"#,
                    message: "casework.peopleLevels[0] is 0"),
        BadCasework(casework: #"{"peopleLevels": [2], "maxSuspension": {"hours": 40, "clock": "working"}, "maxSuspensions": 2, "callbackAfter": {"hours": 8, "clock": "working"}}"#,
                    message: "casework.signOff is missing"),
        BadCasework(casework: #"{"peopleLevels": [2], "signOff": {"hours": 4, "clock": "working"}, "maxSuspension": {"hours": 40, "clock": "working"}, "maxSuspensions": 99, "callbackAfter": {"hours": 8, "clock": "working"}}"#,
                    message: "casework.maxSuspensions is 99"),
        BadCasework(casework: #"{"peopleLevels": [2], "signOff": {"hours": 0, "clock": "working"}, "maxSuspension": {"hours": 40, "clock": "working"}, "maxSuspensions": 2, "callbackAfter": {"hours": 8, "clock": "working"}}"#,
                    message: "casework.signOff.hours is 0"),
    ])
    func malformedCasework(example: BadCasework) throws {
        let error = #expect(throws: TaskForcesError.self) {
            try TimeLimitPolicy(json: Data(Self.policyJSON(casework: example.casework).utf8))
        }
        #expect(error?.message.contains(example.message) == true, "\(String(describing: error?.message))")
    }
}
