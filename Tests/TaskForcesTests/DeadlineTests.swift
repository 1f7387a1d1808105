import Foundation
import TaskForces
import Testing

// MARK: - Helpers

private let hour: TimeInterval = 3600

/// A moment in Asia/Shanghai local time.
private func shanghai(_ year: Int, _ month: Int, _ day: Int, _ hourOfDay: Int = 0, _ minute: Int = 0) throws -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = try #require(TimeZone(identifier: "Asia/Shanghai"))
    let components = DateComponents(year: year, month: month, day: day, hour: hourOfDay, minute: minute)
    return try #require(calendar.date(from: components))
}

/// A local moment given as plain numbers, usable as a test argument.
struct DeadlineTestMoment: Sendable, CustomTestStringConvertible {
    let year: Int, month: Int, day: Int, hour: Int, minute: Int
    init(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int) {
        (self.year, self.month, self.day, self.hour, self.minute) = (year, month, day, hour, minute)
    }
    func date() throws -> Date { try shanghai(year, month, day, hour, minute) }
    var testDescription: String { "\(year)-\(month)-\(day) \(hour):\(minute)" }
}

/// A small valid calendar.json; pass nil to leave a field out.
private func calendarJSON(
    timeZone: String? = #""Asia/Shanghai""#,
    workingHours: String? = #"[{"start": "08:30", "end": "12:00"}, {"start": "13:00", "end": "17:30"}]"#,
    weekend: String? = #"["saturday", "sunday"]"#,
    coveredYears: String? = "[2026]",
    holidays: String? = #"["2026-01-01", "2026-01-02", "2026-01-03"]"#,
    makeupWorkdays: String? = #"["2026-01-04"]"#,
    extraField: String? = nil
) -> String {
    let fields: [(String, String?)] = [
        ("timeZone", timeZone), ("workingHours", workingHours), ("weekend", weekend),
        ("coveredYears", coveredYears), ("holidays", holidays), ("makeupWorkdays", makeupWorkdays),
    ]
    var members = fields.compactMap { name, value in value.map { "\"\(name)\": \($0)" } }
    if let extraField { members.append(extraField) }
    return "{" + members.joined(separator: ", ") + "}"
}

/// A small valid time-limits.json with the given kinds array.
private func policyJSON(
    kinds: String = #"[{"key": "scope", "names": {"zh": "范围", "en": "scope"}, "hours": 3, "clock": "calendar", "keywords": {"zh": ["经营范围"], "en": ["business scope"]}}]"#,
    urgentFactor: String = "0.5",
    escalationLevels: String = #"[{"level": 1, "name": "department", "hours": 24, "clock": "working"}]"#
) -> String {
    """
    {"urgentFactor": \(urgentFactor), "warningFraction": 0.75,
     "taskForces": {"triage": {"names": {"zh": "人工分拨", "en": "triage"}, "hours": 8, "clock": "working"}},
     "kinds": \(kinds),
     "escalationLevels": \(escalationLevels)}
    """
}

/// A kind entry for policyJSON with one Chinese keyword list.
private func kindEntry(_ key: String, keywords: [String]) -> String {
    let list = keywords.map { "\"\($0)\"" }.joined(separator: ", ")
    return #"{"key": "\#(key)", "names": {"zh": "\#(key)", "en": "\#(key)"}, "hours": 1, "clock": "calendar", "keywords": {"zh": [\#(list)], "en": []}}"#
}

// MARK: - Working calendar

@Suite("Working calendar")
struct WorkCalendarTests {
    let calendar: WorkCalendar

    init() throws {
        calendar = try WorkCalendar.bundledDefault()
    }

    @Test func workingTimeSkipsTheWeekend() throws {
        // Friday 2026-03-13 16:30: one hour left on Friday, two on Monday morning.
        let end = calendar.addingWorkingTime(3 * hour, to: try shanghai(2026, 3, 13, 16, 30))
        #expect(end == (try shanghai(2026, 3, 16, 10, 30)))
    }

    @Test func workingTimeSkipsAPublicHoliday() throws {
        // Qingming 2026: Saturday 4 April to Monday 6 April off.
        let end = calendar.addingWorkingTime(3 * hour, to: try shanghai(2026, 4, 3, 16, 30))
        #expect(end == (try shanghai(2026, 4, 7, 10, 30)))
    }

    @Test func makeupSaturdayCountsAsAWorkingDay() throws {
        // 2026-02-14 is a Saturday declared a working day before the Spring Festival block.
        let makeupSaturday = try shanghai(2026, 2, 14, 10, 0)
        #expect(calendar.isWorkingDay(makeupSaturday))
        let end = calendar.addingWorkingTime(3 * hour, to: try shanghai(2026, 2, 13, 16, 30))
        #expect(end == (try shanghai(2026, 2, 14, 10, 30)))
    }

    @Test func countingCrossesAHolidayBlockAndItsMakeupDays() throws {
        // National Day 2025: 1–8 October off; Saturday 11 October is a make-up working day.
        // From Tuesday 30 September 09:00, 24 working hours: 7.5 h on the 30th, 8 h on the 9th,
        // 8 h on the 10th, and the last half hour on Saturday the 11th.
        let end = calendar.addingWorkingTime(24 * hour, to: try shanghai(2025, 9, 30, 9, 0))
        #expect(end == (try shanghai(2025, 10, 11, 9, 0)))
        // Spring Festival 2026: make-up Saturday 14 February, then 15–23 February off.
        let afterBlock = calendar.addingWorkingTime(9 * hour, to: try shanghai(2026, 2, 13, 17, 0))
        #expect(afterBlock == (try shanghai(2026, 2, 24, 9, 0)))
    }

    @Test func startOutsideWorkingHoursBeginsAtTheNextWorkingPeriod() throws {
        let beforeOpening = calendar.addingWorkingTime(1 * hour, to: try shanghai(2026, 3, 16, 7, 0))
        #expect(beforeOpening == (try shanghai(2026, 3, 16, 9, 30)))
        let evening = calendar.addingWorkingTime(1 * hour, to: try shanghai(2026, 3, 16, 20, 0))
        #expect(evening == (try shanghai(2026, 3, 17, 9, 30)))
        let sunday = calendar.addingWorkingTime(1 * hour, to: try shanghai(2026, 3, 15, 10, 0))
        #expect(sunday == (try shanghai(2026, 3, 16, 9, 30)))
    }

    @Test func lunchBreakIsSkipped() throws {
        let fromMorning = calendar.addingWorkingTime(1 * hour, to: try shanghai(2026, 3, 16, 11, 30))
        #expect(fromMorning == (try shanghai(2026, 3, 16, 13, 30)))
        let fromLunch = calendar.addingWorkingTime(1 * hour, to: try shanghai(2026, 3, 16, 12, 15))
        #expect(fromLunch == (try shanghai(2026, 3, 16, 14, 0)))
        #expect(calendar.workingTime(from: try shanghai(2026, 3, 16, 11, 0), to: try shanghai(2026, 3, 16, 14, 0)) == 2 * hour)
    }

    @Test func countEndingAtAPeriodEndStopsThere() throws {
        let end = calendar.addingWorkingTime(3.5 * hour, to: try shanghai(2026, 3, 16, 8, 30))
        #expect(end == (try shanghai(2026, 3, 16, 12, 0)))
    }

    @Test func workingTimeIsZeroWhenEndIsNotAfterStart() throws {
        let moment = try shanghai(2026, 3, 16, 10, 0)
        #expect(calendar.workingTime(from: moment, to: moment) == 0)
        #expect(calendar.workingTime(from: moment, to: moment.addingTimeInterval(-hour)) == 0)
    }

    @Test(arguments: [
        (DeadlineTestMoment(2026, 3, 13, 16, 30), 3.0),
        (DeadlineTestMoment(2026, 3, 16, 7, 0), 1.0),
        (DeadlineTestMoment(2026, 3, 16, 11, 30), 1.0),
        (DeadlineTestMoment(2026, 2, 14, 16, 30), 3.0),
        (DeadlineTestMoment(2025, 9, 30, 9, 0), 24.0),
        (DeadlineTestMoment(2026, 9, 24, 10, 15), 40.0),
        (DeadlineTestMoment(2026, 12, 31, 17, 0), 120.0),
    ])
    func workingTimeInvertsAddingWorkingTime(start: DeadlineTestMoment, hours: Double) throws {
        let startDate = try start.date()
        let end = calendar.addingWorkingTime(hours * hour, to: startDate)
        #expect(abs(calendar.workingTime(from: startDate, to: end) - hours * hour) < 0.001)
    }

    @Test func addingWorkingTimeInvertsWorkingTimeWithinWorkingHours() throws {
        let start = try shanghai(2026, 2, 13, 9, 0)
        let end = try shanghai(2026, 2, 24, 15, 45)
        #expect(calendar.addingWorkingTime(calendar.workingTime(from: start, to: end), to: start) == end)
    }

    @Test(arguments: [
        ("2025-01-01", false), ("2025-01-26", true), ("2025-02-04", false), ("2025-02-08", true),
        ("2025-04-27", true), ("2025-06-02", false), ("2025-09-28", true), ("2025-10-08", false),
        ("2025-10-11", true), ("2026-01-02", false), ("2026-01-04", true), ("2026-02-23", false),
        ("2026-02-28", true), ("2026-05-09", true), ("2026-06-19", false), ("2026-09-20", true),
        ("2026-09-25", false), ("2026-10-07", false), ("2026-10-10", true), ("2026-10-12", true),
        ("2026-10-17", false),
    ])
    func bundledCalendarFollowsTheOfficialNotices(day: String, isWorkingDay: Bool) throws {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        try #require(parts.count == 3)
        #expect(calendar.isWorkingDay(try shanghai(parts[0], parts[1], parts[2], 12)) == isWorkingDay)
    }

    @Test func daysAreReckonedInTheCalendarTimeZone() throws {
        // Friday 2026-03-13 23:30 UTC is Saturday 07:30 in Shanghai.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = try #require(TimeZone(identifier: "UTC"))
        let moment = try #require(utc.date(from: DateComponents(year: 2026, month: 3, day: 13, hour: 23, minute: 30)))
        #expect(!calendar.isWorkingDay(moment))
    }

    @Test func holidayDataCoversOnlyTheListedYears() throws {
        #expect(calendar.coveredYears == [2025, 2026])
        #expect(calendar.hasHolidayData(for: try shanghai(2026, 7, 1)))
        #expect(!calendar.hasHolidayData(for: try shanghai(2027, 1, 1)))
    }
}

// MARK: - Calendar data errors

struct MalformedDeadlineData: Sendable, CustomTestStringConvertible {
    let name: String
    let json: String
    let expectedMessage: String
    var testDescription: String { name }
}

@Suite("Calendar data errors")
struct WorkCalendarDataErrorTests {
    @Test func smallCalendarParses() throws {
        let calendar = try WorkCalendar(json: Data(calendarJSON().utf8))
        #expect(calendar.workingPeriods.map(\.description) == ["08:30–12:00", "13:00–17:30"])
        #expect(calendar.weekendDays == [.saturday, .sunday])
    }

    @Test(arguments: [
        MalformedDeadlineData(
            name: "month 13",
            json: calendarJSON(holidays: #"["2026-01-01", "2026-01-02", "2026-01-03", "2026-13-01"]"#),
            expectedMessage: #"calendar.json: holidays[3] "2026-13-01" is not a date (YYYY-MM-DD)"#),
        MalformedDeadlineData(
            name: "30 February",
            json: calendarJSON(makeupWorkdays: #"["2026-02-30"]"#),
            expectedMessage: #"calendar.json: makeupWorkdays[0] "2026-02-30" is not a date (YYYY-MM-DD)"#),
        MalformedDeadlineData(
            name: "unknown time zone",
            json: calendarJSON(timeZone: #""Mars/Olympus""#),
            expectedMessage: #"calendar.json: timeZone "Mars/Olympus" is not a time zone identifier (e.g. "Asia/Shanghai")"#),
        MalformedDeadlineData(
            name: "time without leading zero",
            json: calendarJSON(workingHours: #"[{"start": "8:30", "end": "12:00"}]"#),
            expectedMessage: #"calendar.json: workingHours[0].start "8:30" is not a time (HH:MM, 00:00–24:00)"#),
        MalformedDeadlineData(
            name: "overlapping periods",
            json: calendarJSON(workingHours: #"[{"start": "08:30", "end": "12:00"}, {"start": "11:00", "end": "17:30"}]"#),
            expectedMessage: "calendar.json: workingHours[1] starts at 11:00, before workingHours[0] ends (08:30–12:00); list periods in order, without overlap"),
        MalformedDeadlineData(
            name: "period ending before it starts",
            json: calendarJSON(workingHours: #"[{"start": "17:30", "end": "13:00"}]"#),
            expectedMessage: "calendar.json: workingHours[0] ends before it starts (17:30–13:00)"),
        MalformedDeadlineData(
            name: "unknown weekday",
            json: calendarJSON(weekend: #"["saturday", "caturday"]"#),
            expectedMessage: #"calendar.json: weekend[1] "caturday" is not a weekday (use one of: sunday, monday, tuesday, wednesday, thursday, friday, saturday)"#),
        MalformedDeadlineData(
            name: "holiday and make-up day at once",
            json: calendarJSON(holidays: #"["2026-01-04"]"#),
            expectedMessage: #"calendar.json: makeupWorkdays[0] "2026-01-04" is also listed in holidays; a day is either a holiday or a make-up working day"#),
        MalformedDeadlineData(
            name: "date outside covered years",
            json: calendarJSON(holidays: #"["2027-01-01"]"#),
            expectedMessage: #"calendar.json: holidays[0] "2027-01-01" is outside coveredYears (2026); add 2027 to coveredYears"#),
        MalformedDeadlineData(
            name: "missing field",
            json: calendarJSON(timeZone: nil),
            expectedMessage: "calendar.json: timeZone is missing"),
        MalformedDeadlineData(
            name: "misspelt field",
            json: calendarJSON(extraField: #""holiday": []"#),
            expectedMessage: "calendar.json: holiday is not a known field (expected: coveredYears, holidays, makeupWorkdays, notes, timeZone, weekend, workingHours)"),
        MalformedDeadlineData(
            name: "wrong type",
            json: calendarJSON(holidays: #""2026-01-01""#),
            expectedMessage: "calendar.json: holidays should be an array, found a string"),
        MalformedDeadlineData(
            name: "every day a weekend day",
            json: calendarJSON(weekend: #"["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]"#),
            expectedMessage: "calendar.json: weekend lists all seven days; at least one day of the week must be a working day"),
        MalformedDeadlineData(
            name: "not JSON",
            json: #"{"timeZone": "Asia/Shanghai",,}"#,
            expectedMessage: "calendar.json: is not valid JSON"),
    ])
    func malformedCalendarErrorNamesTheField(example: MalformedDeadlineData) throws {
        let error = #expect(throws: TaskForcesError.self) {
            try WorkCalendar(json: Data(example.json.utf8))
        }
        let message = try #require(error).description
        #expect(message.hasPrefix(example.expectedMessage), "got: \(message)")
    }
}

// MARK: - Time-limit policy

@Suite("Time-limit policy")
struct TimeLimitPolicyTests {
    let policy: TimeLimitPolicy
    let calendar: WorkCalendar

    init() throws {
        policy = try TimeLimitPolicy.bundledDefault()
        calendar = try WorkCalendar.bundledDefault()
    }

    @Test func businessScopeChangeIsDueInThreeHours() throws {
        let received = try shanghai(2026, 3, 16, 10, 0)
        let deadline = try policy.deadline(
            taskForce: "triage", kind: "business_scope_change", urgent: false,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(deadline.dueAt == received.addingTimeInterval(3 * hour))
        #expect(deadline.rule == "kind business_scope_change: 3 h calendar")
        #expect(deadline.kind == "business_scope_change")
    }

    @Test func businessLicenceIsDueInFortyEightHours() throws {
        let received = try shanghai(2026, 3, 13, 16, 0)
        let deadline = try policy.deadline(
            taskForce: "triage", kind: "business_licence", urgent: false,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(deadline.dueAt == received.addingTimeInterval(48 * hour))
        #expect(deadline.rule == "kind business_licence: 48 h calendar")
    }

    @Test func calendarClockIgnoresTheWorkingCalendar() throws {
        // 22:00 on a Spring Festival holiday that is also a Saturday.
        let received = try shanghai(2026, 2, 21, 22, 0)
        #expect(!calendar.isWorkingDay(received))
        let deadline = try policy.deadline(
            taskForce: "infrastructure", kind: "business_scope_change", urgent: false,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(deadline.dueAt == (try shanghai(2026, 2, 22, 1, 0)))
    }

    @Test func taskForceDefaultCountsWorkingTime() throws {
        let received = try shanghai(2026, 3, 13, 16, 30)
        let deadline = try policy.deadline(
            taskForce: "tax", kind: nil, urgent: false,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(calendar.workingTime(from: received, to: deadline.dueAt) == 40 * hour)
        #expect(deadline.rule == "task force tax: 40 h working")
        #expect(deadline.kind == nil)
    }

    @Test func urgentHalvesTheAllowedTime() throws {
        let received = try shanghai(2026, 3, 13, 16, 30)
        let licence = try policy.deadline(
            taskForce: "triage", kind: "business_licence", urgent: true,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(licence.dueAt == received.addingTimeInterval(24 * hour))
        #expect(licence.rule == "kind business_licence: 48 h calendar (urgent ×0.5 = 24 h)")
        let tax = try policy.deadline(
            taskForce: "tax", kind: nil, urgent: true,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(calendar.workingTime(from: received, to: tax.dueAt) == 20 * hour)
    }

    @Test func warningComesAtThreeQuartersOnTheSameClock() throws {
        let received = try shanghai(2026, 3, 16, 8, 30)
        let scope = try policy.deadline(
            taskForce: "triage", kind: "business_scope_change", urgent: false,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(scope.warnAt == received.addingTimeInterval(2.25 * hour))
        // Triage: 8 working hours from Monday 08:30; 6 working hours pass at 15:30.
        let triage = try policy.deadline(
            taskForce: "triage", kind: nil, urgent: false,
            escalationLevel: 0, receivedAt: received, calendar: calendar)
        #expect(triage.warnAt == (try shanghai(2026, 3, 16, 15, 30)))
        #expect(triage.dueAt == (try shanghai(2026, 3, 16, 17, 30)))
    }

    @Test func escalationLevelsReplaceKindAndTaskForceLimits() throws {
        let received = try shanghai(2026, 3, 16, 9, 0)
        let department = try policy.deadline(
            taskForce: "tax", kind: "business_scope_change", urgent: false,
            escalationLevel: 1, receivedAt: received, calendar: calendar)
        #expect(calendar.workingTime(from: received, to: department.dueAt) == 24 * hour)
        #expect(department.rule == "escalation level 1 (department): 24 h working")
        #expect(department.kind == nil)
        let taskForce = try policy.deadline(
            taskForce: "tax", kind: nil, urgent: false,
            escalationLevel: 2, receivedAt: received, calendar: calendar)
        #expect(calendar.workingTime(from: received, to: taskForce.dueAt) == 48 * hour)
        #expect(taskForce.rule == "escalation level 2 (task_force): 48 h working")
        #expect(policy.highestEscalationLevel == 2)
    }

    @Test(arguments: [-1, 3])
    func escalationLevelOutsideThePolicyThrows(level: Int) throws {
        #expect(throws: TaskForcesError.unknownEscalationLevel(level, known: [1, 2])) {
            try policy.deadline(
                taskForce: "tax", kind: nil, urgent: false,
                escalationLevel: level, receivedAt: Date(), calendar: calendar)
        }
    }

    @Test func unknownKindErrorListsTheKnownKinds() throws {
        let error = #expect(throws: TaskForcesError.self) {
            try policy.deadline(
                taskForce: "foreign", kind: "visa", urgent: false,
                escalationLevel: 0, receivedAt: Date(), calendar: calendar)
        }
        #expect(try #require(error).description == """
            unknown matter kind "visa"; the time-limit policy knows: business_licence, business_scope_change, \
            government_arrears, loan_renewal, utility_outage, work_permit
            """)
    }

    @Test func unknownTaskForceThrows() throws {
        #expect(throws: TaskForcesError.policyTaskForce("transport", known: policy.taskForceKeys)) {
            try policy.deadline(
                taskForce: "transport", kind: nil, urgent: false,
                escalationLevel: 0, receivedAt: Date(), calendar: calendar)
        }
    }

    @Test func bundledPolicyKnowsEveryTaskForceAndTheRequiredKinds() {
        for key in ["tax", "credit", "legal", "infrastructure", "financing", "innovation", "foreign", "triage"] {
            #expect(policy.isKnownTaskForce(key), "\(key)")
        }
        #expect(!policy.isKnownTaskForce("Tax"))
        #expect(policy.kindKeys == policy.kindKeys.sorted())
        #expect(policy.kindKeys.contains("business_scope_change"))
        #expect(policy.kindKeys.contains("business_licence"))
        #expect(policy.kind("business_scope_change")?.names.zh == "经营范围变更")
        #expect(policy.urgentFactor == 0.5)
        #expect(policy.warningFraction == 0.75)
    }

    @Test(arguments: [
        ("我司急需变更经营范围,请帮忙加快审批", "business_scope_change"),
        ("申请食品经营许可证", "business_licence"),
        ("园区今天停电,生产线全部停工", "utility_outage"),
        ("区政府拖欠我们的工程款已经两年", "government_arrears"),
        ("外籍技术人员的外国人工作许可还没办下来", "work_permit"),
        ("银行贷款到期,申请续贷", "loan_renewal"),
    ])
    func detectsKindInSimplifiedChinese(text: String, kind: String) {
        #expect(policy.detectKind(inNormalizedText: text) == kind)
    }

    @Test(arguments: [
        ("we need a business licence approval before reopening", "business_licence"),
        ("we want to add catering to our business scope", "business_scope_change"),
        ("power outage at our plant since monday", "utility_outage"),
        ("the district still owes us for the road project, payment overdue", "government_arrears"),
        ("the work permit of our engineer expired", "work_permit"),
        ("our bank refuses a loan extension", "loan_renewal"),
    ])
    func detectsKindInEnglish(text: String, kind: String) {
        #expect(policy.detectKind(inNormalizedText: text) == kind)
    }

    @Test func detectsNoKindWithoutKeywords() {
        #expect(policy.detectKind(inNormalizedText: "请问复工需要准备什么材料") == nil)
        #expect(policy.detectKind(inNormalizedText: "") == nil)
    }

    @Test func kindWithMostKeywordHitsWins() {
        // business_licence (listed after business_scope_change) matches 经营许可 and 营业执照;
        // business_scope_change matches only 经营范围.
        #expect(policy.detectKind(inNormalizedText: "申请营业执照和经营许可,涉及经营范围") == "business_licence")
    }

    @Test func keywordTieGoesToTheKindListedFirst() throws {
        let text = "甲乙"
        let alphaFirst = try TimeLimitPolicy(json: Data(policyJSON(
            kinds: "[\(kindEntry("alpha", keywords: ["甲"])), \(kindEntry("beta", keywords: ["乙"]))]").utf8))
        let betaFirst = try TimeLimitPolicy(json: Data(policyJSON(
            kinds: "[\(kindEntry("beta", keywords: ["乙"])), \(kindEntry("alpha", keywords: ["甲"]))]").utf8))
        #expect(alphaFirst.detectKind(inNormalizedText: text) == "alpha")
        #expect(betaFirst.detectKind(inNormalizedText: text) == "beta")
    }

    @Test(arguments: [
        MalformedDeadlineData(
            name: "unknown clock",
            json: policyJSON(kinds: #"[{"key": "scope", "names": {"zh": "范围", "en": "scope"}, "hours": 3, "clock": "weekly", "keywords": {"zh": [], "en": []}}]"#),
            expectedMessage: #"time-limits.json: kinds[0].clock "weekly" is not a clock (use "calendar" or "working")"#),
        MalformedDeadlineData(
            name: "negative hours",
            json: policyJSON(kinds: #"[{"key": "scope", "names": {"zh": "范围", "en": "scope"}, "hours": -3, "clock": "calendar", "keywords": {"zh": [], "en": []}}]"#),
            expectedMessage: "time-limits.json: kinds[0].hours is -3; a limit must be more than 0 hours"),
        MalformedDeadlineData(
            name: "upper-case keyword",
            json: policyJSON(kinds: #"[{"key": "scope", "names": {"zh": "范围", "en": "scope"}, "hours": 3, "clock": "calendar", "keywords": {"zh": [], "en": ["Business Scope"]}}]"#),
            expectedMessage: #"time-limits.json: kinds[0].keywords.en[0] "Business Scope" is not normalised"#),
        MalformedDeadlineData(
            name: "missing names",
            json: policyJSON(kinds: #"[{"key": "scope", "hours": 3, "clock": "calendar", "keywords": {"zh": [], "en": []}}]"#),
            expectedMessage: "time-limits.json: kinds[0].names is missing"),
        MalformedDeadlineData(
            name: "escalation levels out of order",
            json: policyJSON(escalationLevels: #"[{"level": 2, "name": "task_force", "hours": 48, "clock": "working"}]"#),
            expectedMessage: "time-limits.json: escalationLevels[0].level is 2, expected 1"),
        MalformedDeadlineData(
            name: "urgent factor above one",
            json: policyJSON(urgentFactor: "2"),
            expectedMessage: "time-limits.json: urgentFactor 2 is out of range"),
    ])
    func malformedPolicyErrorNamesTheField(example: MalformedDeadlineData) throws {
        let error = #expect(throws: TaskForcesError.self) {
            try TimeLimitPolicy(json: Data(example.json.utf8))
        }
        let message = try #require(error).description
        #expect(message.hasPrefix(example.expectedMessage), "got: \(message)")
    }
}

// MARK: - Embedded defaults

@Suite("Embedded defaults")
struct DeadlineDataFileTests {
    @Test func dataFilesParseWhenLoadedFromDisk() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../data/policy").standardizedFileURL
        #expect(try WorkCalendar(contentsOf: directory.appendingPathComponent("calendar.json")) == WorkCalendar.bundledDefault())
        #expect(try TimeLimitPolicy(contentsOf: directory.appendingPathComponent("time-limits.json")) == TimeLimitPolicy.bundledDefault())
    }
}
