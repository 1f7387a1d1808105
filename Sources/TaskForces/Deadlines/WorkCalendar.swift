import Foundation
import Synchronization

/// Working calendar: working hours on working days, weekends, public holidays, and the make-up working days (调休上班) that Chinese holiday notices declare.
///
/// The calendar is data (`data/policy/calendar.json`) so operators can add next year's
/// holidays when the State Council publishes them. All day and hour questions are answered
/// in the calendar's own ``timeZone``, whatever the time zone of the process.
package struct WorkCalendar: Sendable, Equatable {
    /// A day of the week, named as in `calendar.json` (`"saturday"`, `"sunday"`, …).
    package enum Weekday: String, Sendable, CaseIterable, Codable {
        case sunday, monday, tuesday, wednesday, thursday, friday, saturday

        /// Foundation's weekday number for this day (1 = Sunday … 7 = Saturday).
        package var gregorianWeekday: Int {
            switch self {
            case .sunday: return 1
            case .monday: return 2
            case .tuesday: return 3
            case .wednesday: return 4
            case .thursday: return 5
            case .friday: return 6
            case .saturday: return 7
            }
        }
    }

    /// One period of working hours in a working day, in local time, e.g. 08:30–12:00.
    package struct WorkingPeriod: Sendable, Equatable, CustomStringConvertible {
        /// Minutes after local midnight at which the period starts.
        package let startMinute: Int
        /// Minutes after local midnight at which the period ends (1440 = 24:00).
        package let endMinute: Int

        /// The period's length on an ordinary day.
        package var duration: TimeInterval { TimeInterval(endMinute - startMinute) * 60 }

        /// The period as written in `calendar.json`, e.g. `08:30–12:00`.
        package var description: String {
            "\(Self.clockText(startMinute))–\(Self.clockText(endMinute))"
        }

        static func clockText(_ minute: Int) -> String {
            let hours = minute / 60, minutes = minute % 60
            return (hours < 10 ? "0" : "") + "\(hours):" + (minutes < 10 ? "0" : "") + "\(minutes)"
        }
    }

    /// The time zone in which days and working hours are reckoned, e.g. Asia/Shanghai.
    package let timeZone: TimeZone
    /// The working periods of a working day, in order and not overlapping.
    package let workingPeriods: [WorkingPeriod]
    /// The days of the week that are days off unless declared make-up working days.
    package let weekendDays: Set<Weekday>
    /// The years whose holidays and make-up working days the data lists, ascending.
    package let coveredYears: [Int]
    /// The operator notes of the data file (where the dates come from).
    package let notes: [String]

    private let holidays: Set<LocalDay>
    private let makeupWorkdays: Set<LocalDay>
    private let gregorian: Calendar
    /// Each local day's start and working intervals, computed once with Foundation's
    /// `Calendar` and then reused (deadline arithmetic is per case; see ``WorkingDayCache``).
    private let dayCache = WorkingDayCache()

    /// Parses the `calendar.json` format.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    /// - Throws: ``TaskForcesError`` naming `calendar.json` and the field that is wrong.
    package init(json: Data) throws {
        try self.init(json: json, sourceName: "calendar.json")
    }

    /// Parses the `calendar.json` format, naming the source in errors.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    ///   - sourceName: the name errors give the data, e.g. a file path.
    /// - Throws: ``TaskForcesError`` naming `sourceName` and the field that is wrong.
    package init(json: Data, sourceName: String) throws {
        let root = try DeadlineJSONField.parse(json, file: sourceName)
        let fields = try root.members(
            required: ["timeZone", "workingHours", "weekend", "coveredYears", "holidays", "makeupWorkdays"],
            optional: ["notes"]
        )
        func field(_ key: String) throws -> DeadlineJSONField {
            guard let value = fields[key] else { throw root.child(key).failure("is missing") }
            return value
        }

        notes = try fields["notes"].map { try $0.notes() } ?? []

        let zoneField = try field("timeZone")
        let zoneName = try zoneField.string()
        guard let zone = TimeZone(identifier: zoneName) else {
            throw zoneField.failure("\"\(zoneName)\" is not a time zone identifier (e.g. \"Asia/Shanghai\")")
        }
        timeZone = zone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        gregorian = calendar

        workingPeriods = try Self.parseWorkingPeriods(try field("workingHours"))
        weekendDays = try Self.parseWeekend(try field("weekend"))
        let years = try Self.parseCoveredYears(try field("coveredYears"))
        coveredYears = years
        let holidayDays = try Self.parseDays(try field("holidays"), coveredYears: years)
        let makeupDays = try Self.parseDays(try field("makeupWorkdays"), coveredYears: years)
        for (element, day) in makeupDays where holidayDays.contains(where: { $0.day == day }) {
            throw element.failure("\"\(day)\" is also listed in holidays; a day is either a holiday or a make-up working day")
        }
        holidays = Set(holidayDays.map(\.day))
        makeupWorkdays = Set(makeupDays.map(\.day))
    }

    /// Reads and parses a calendar file, naming the file in errors.
    /// - Parameters:
    ///   - url: the location of a file in the `calendar.json` format.
    /// - Throws: ``TaskForcesError`` when the file cannot be read or a field is wrong.
    package init(contentsOf url: URL) throws {
        try self.init(json: try TaskForcesError.contents(of: url), sourceName: url.lastPathComponent)
    }

    /// The calendar shipped with the program: `data/policy/calendar.json`, embedded at build time.
    /// - Throws: ``TaskForcesError`` if the embedded data is wrong (a test guards against that).
    package static func bundledDefault() throws -> WorkCalendar {
        try WorkCalendar(json: Data(try PolicyFile.embedded("calendar.json").utf8))
    }

    // MARK: Days

    /// Whether the local day (in ``timeZone``) containing `date` is a working day:
    /// a make-up working day is; otherwise a holiday or a weekend day is not; any other day is.
    /// - Parameters:
    ///   - date: any moment of the day in question.
    package func isWorkingDay(_ date: Date) -> Bool {
        let day = localDay(of: date)
        if makeupWorkdays.contains(day) { return true }
        if holidays.contains(day) { return false }
        return !weekendDays.contains(where: { $0.gregorianWeekday == gregorian.component(.weekday, from: date) })
    }

    /// Whether the local day containing `date` is listed as a public holiday (a day off of a holiday block).
    /// - Parameters:
    ///   - date: any moment of the day in question.
    package func isHoliday(_ date: Date) -> Bool {
        holidays.contains(localDay(of: date))
    }

    /// Whether the local day containing `date` is listed as a make-up working day (调休上班).
    /// - Parameters:
    ///   - date: any moment of the day in question.
    package func isMakeupWorkday(_ date: Date) -> Bool {
        makeupWorkdays.contains(localDay(of: date))
    }

    /// Whether the data lists holidays for the year of `date`; when it does not, only weekends
    /// are days off that year, and operators should add the year's official dates.
    /// - Parameters:
    ///   - date: any moment of the year in question.
    package func hasHolidayData(for date: Date) -> Bool {
        coveredYears.contains(gregorian.component(.year, from: date))
    }

    /// The years from `start` to `end` (inclusive, local time) that the data lists no
    /// holidays for; empty when all are covered.
    package func uncoveredYears(from start: Date, to end: Date) -> [Int] {
        let first = year(of: min(start, end))
        let last = year(of: max(start, end))
        return (first...last).filter { !coveredYears.contains($0) }
    }

    // MARK: Working time

    /// The moment at which `seconds` of working time have passed since `start`, counting only
    /// the working periods of working days. A start outside working hours begins counting at
    /// the next working period's start. A count that ends exactly at the end of a working
    /// period ends there (not at the next period's start).
    /// - Parameters:
    ///   - seconds: working time to add; zero or less returns `start` unchanged.
    ///   - start: the moment counting begins.
    package func addingWorkingTime(_ seconds: TimeInterval, to start: Date) -> Date {
        guard seconds.isFinite else { return seconds > 0 ? .distantFuture : start }
        guard seconds > 0 else { return start }
        guard var (days, index) = cachedDays(containing: start) else { return uncachedAddingWorkingTime(seconds, to: start) }
        var remaining = seconds
        while true {
            if index >= days.count {
                guard let more = cachedDays(extendingPast: days) else {
                    // Past the cache's limit: go on day by day without it.
                    var dayStart = days[days.count - 1].next
                    while true {
                        for period in workingIntervals(ofDayStartingAt: dayStart) where period.end > start {
                            let from = max(period.start, start)
                            let available = period.end.timeIntervalSince(from)
                            if remaining <= available { return from.addingTimeInterval(remaining) }
                            remaining -= available
                        }
                        dayStart = nextDayStart(after: dayStart)
                    }
                }
                days = more
            }
            for period in days[index].intervals where period.end > start {
                let from = max(period.start, start)
                let available = period.end.timeIntervalSince(from)
                if remaining <= available { return from.addingTimeInterval(remaining) }
                remaining -= available
            }
            index += 1
        }
    }

    /// The working time between two moments: the overlap of `[start, end)` with the working
    /// periods of working days; 0 when `end` is not after `start`.
    /// - Parameters:
    ///   - start: the earlier moment.
    ///   - end: the later moment.
    package func workingTime(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        guard var (days, index) = cachedDays(containing: start) else { return uncachedWorkingTime(from: start, to: end) }
        var total: TimeInterval = 0
        while true {
            if index >= days.count {
                guard let more = cachedDays(extendingPast: days) else {
                    // Past the cache's limit: go on day by day without it.
                    var dayStart = days[days.count - 1].next
                    while dayStart < end {
                        for period in workingIntervals(ofDayStartingAt: dayStart) {
                            let overlap = min(period.end, end).timeIntervalSince(max(period.start, start))
                            if overlap > 0 { total += overlap }
                        }
                        dayStart = nextDayStart(after: dayStart)
                    }
                    return total
                }
                days = more
            }
            let day = days[index]
            guard day.start < end else { return total }
            for period in day.intervals {
                let overlap = min(period.end, end).timeIntervalSince(max(period.start, start))
                if overlap > 0 { total += overlap }
            }
            index += 1
        }
    }

    /// ``addingWorkingTime(_:to:)`` computed day by day with Foundation's `Calendar`, without
    /// the day cache: the reference the cached path is tested against.
    package func uncachedAddingWorkingTime(_ seconds: TimeInterval, to start: Date) -> Date {
        guard seconds.isFinite else { return seconds > 0 ? .distantFuture : start }
        guard seconds > 0 else { return start }
        var remaining = seconds
        var dayStart = gregorian.startOfDay(for: start)
        while true {
            for period in workingIntervals(ofDayStartingAt: dayStart) where period.end > start {
                let from = max(period.start, start)
                let available = period.end.timeIntervalSince(from)
                if remaining <= available { return from.addingTimeInterval(remaining) }
                remaining -= available
            }
            dayStart = nextDayStart(after: dayStart)
        }
    }

    /// ``workingTime(from:to:)`` without the day cache (the reference of the tests).
    package func uncachedWorkingTime(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        var total: TimeInterval = 0
        var dayStart = gregorian.startOfDay(for: start)
        while dayStart < end {
            for period in workingIntervals(ofDayStartingAt: dayStart) {
                let overlap = min(period.end, end).timeIntervalSince(max(period.start, start))
                if overlap > 0 { total += overlap }
            }
            dayStart = nextDayStart(after: dayStart)
        }
        return total
    }

    /// ``uncoveredYears(from:to:)`` without the day cache (the reference of the tests).
    package func uncachedUncoveredYears(from start: Date, to end: Date) -> [Int] {
        let first = gregorian.component(.year, from: min(start, end))
        let last = gregorian.component(.year, from: max(start, end))
        return (first...last).filter { !coveredYears.contains($0) }
    }

    // MARK: Day cache

    /// The cached days and the index of the one containing `instant`, extending the cache
    /// as needed; nil when `instant` is too far from the cached days to be worth caching.
    private func cachedDays(containing instant: Date) -> (days: [WorkingDayCache.Day], index: Int)? {
        let days = dayCache.days
        if let index = WorkingDayCache.index(of: instant, in: days) { return (days, index) }
        // Not cached yet: compute the days between the cache and `instant` (or, for an
        // empty cache or one too far away, start afresh at `instant`'s day).
        return dayCache.update { days in
            if let index = WorkingDayCache.index(of: instant, in: days) { return (days, index) }
            if let first = days.first, instant < first.start,
               first.start.timeIntervalSince(instant) < WorkingDayCache.maximumGap {
                var earlier: [WorkingDayCache.Day] = []
                var dayStart = gregorian.startOfDay(for: instant)
                while dayStart < first.start {
                    earlier.append(cachedDay(startingAt: dayStart))
                    dayStart = earlier[earlier.count - 1].next
                }
                guard dayStart == first.start else { return nil }
                days.insert(contentsOf: earlier, at: 0)
            } else if let last = days.last, instant >= last.next,
                      instant.timeIntervalSince(last.next) < WorkingDayCache.maximumGap {
                while let last = days.last, instant >= last.next { days.append(cachedDay(startingAt: last.next)) }
            } else {
                if days.count > WorkingDayCache.maximumDays / 2 { return nil }
                days = [cachedDay(startingAt: gregorian.startOfDay(for: instant))]
            }
            if days.count < WorkingDayCache.chunk {
                while days.count < WorkingDayCache.chunk { days.append(cachedDay(startingAt: days[days.count - 1].next)) }
            }
            guard days.count <= WorkingDayCache.maximumDays, let index = WorkingDayCache.index(of: instant, in: days) else { return nil }
            return (days, index)
        }
    }

    /// The cached days extended by a chunk beyond `seen`'s last day; nil past the cache's size limit.
    private func cachedDays(extendingPast seen: [WorkingDayCache.Day]) -> [WorkingDayCache.Day]? {
        guard let lastSeen = seen.last else { return nil }
        return dayCache.update { days in
            guard let start = WorkingDayCache.index(of: lastSeen.start, in: days) else { return nil }
            let wanted = start + 1 + WorkingDayCache.chunk
            while days.count < wanted {
                guard days.count < WorkingDayCache.maximumDays else { return nil }
                days.append(cachedDay(startingAt: days[days.count - 1].next))
            }
            // The caller holds indexes into `seen`: give it an array with the same start.
            guard let offset = WorkingDayCache.index(of: seen[0].start, in: days) else { return nil }
            return Array(days[offset...])
        }
    }

    private func cachedDay(startingAt dayStart: Date) -> WorkingDayCache.Day {
        WorkingDayCache.Day(
            start: dayStart, next: nextDayStart(after: dayStart),
            intervals: workingIntervals(ofDayStartingAt: dayStart), year: gregorian.component(.year, from: dayStart))
    }

    /// The year (local time) of the day containing `instant`, from the day cache when it can.
    private func year(of instant: Date) -> Int {
        if let (days, index) = cachedDays(containing: instant) { return days[index].year }
        return gregorian.component(.year, from: instant)
    }

    // MARK: Private

    /// A date in the calendar's time zone, without a time.
    private struct LocalDay: Hashable, Sendable, CustomStringConvertible {
        let year: Int, month: Int, day: Int

        var description: String {
            let yyyy = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
            return yyyy + (month < 10 ? "-0" : "-") + "\(month)" + (day < 10 ? "-0" : "-") + "\(day)"
        }

        /// Parses `YYYY-MM-DD` strictly (a real Gregorian date); nil otherwise.
        init?(parsing text: String) {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
                  parts.allSatisfy({ $0.allSatisfy { ("0"..."9").contains($0) } }),
                  let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
                  year >= 1, (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year)
            else { return nil }
            self.init(year: year, month: month, day: day)
        }

        init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2:
                let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
                return leap ? 29 : 28
            case 4, 6, 9, 11: return 30
            default: return 31
            }
        }
    }

    private func localDay(of date: Date) -> LocalDay {
        LocalDay(
            year: gregorian.component(.year, from: date),
            month: gregorian.component(.month, from: date),
            day: gregorian.component(.day, from: date)
        )
    }

    private func nextDayStart(after dayStart: Date) -> Date {
        // Noon of the same day plus a day avoids any ambiguity around midnight transitions.
        let probe = gregorian.date(byAdding: .hour, value: 36, to: dayStart) ?? dayStart.addingTimeInterval(36 * 3600)
        return gregorian.startOfDay(for: probe)
    }

    /// The moment `minute` minutes after local midnight of the day starting at `dayStart`.
    private func moment(minute: Int, ofDayStartingAt dayStart: Date) -> Date {
        if minute >= 24 * 60 { return nextDayStart(after: dayStart) }
        return gregorian.date(bySettingHour: minute / 60, minute: minute % 60, second: 0, of: dayStart)
            ?? dayStart.addingTimeInterval(TimeInterval(minute) * 60)
    }

    /// The working periods of the day starting at `dayStart` as absolute intervals; empty on a day off.
    private func workingIntervals(ofDayStartingAt dayStart: Date) -> [(start: Date, end: Date)] {
        guard isWorkingDay(dayStart) else { return [] }
        return workingPeriods.map { period in
            (moment(minute: period.startMinute, ofDayStartingAt: dayStart),
             moment(minute: period.endMinute, ofDayStartingAt: dayStart))
        }
    }

    private static func parseWorkingPeriods(_ field: DeadlineJSONField) throws -> [WorkingPeriod] {
        let elements = try field.array()
        guard !elements.isEmpty else { throw field.failure("is empty; list at least one period such as {\"start\": \"08:30\", \"end\": \"12:00\"}") }
        var periods: [WorkingPeriod] = []
        for (index, element) in elements.enumerated() {
            let members = try element.members(required: ["start", "end"])
            func minute(_ key: String) throws -> Int {
                guard let value = members[key] else { throw element.child(key).failure("is missing") }
                let text = try value.string()
                guard let minute = parseClockTime(text) else {
                    throw value.failure("\"\(text)\" is not a time (HH:MM, 00:00–24:00)")
                }
                return minute
            }
            let start = try minute("start"), end = try minute("end")
            guard start < end else {
                throw element.failure("ends before it starts (\(WorkingPeriod.clockText(start))–\(WorkingPeriod.clockText(end)))")
            }
            if let previous = periods.last, start < previous.endMinute {
                throw element.failure("starts at \(WorkingPeriod.clockText(start)), before workingHours[\(index - 1)] ends (\(previous)); list periods in order, without overlap")
            }
            periods.append(WorkingPeriod(startMinute: start, endMinute: end))
        }
        return periods
    }

    /// Minutes after midnight of an `HH:MM` time (00:00–24:00); nil when malformed.
    private static func parseClockTime(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { ("0"..."9").contains($0) } }),
              let hours = Int(parts[0]), let minutes = Int(parts[1]),
              minutes < 60, hours < 24 || (hours == 24 && minutes == 0)
        else { return nil }
        return hours * 60 + minutes
    }

    private static func parseWeekend(_ field: DeadlineJSONField) throws -> Set<Weekday> {
        var days: Set<Weekday> = []
        for element in try field.array() {
            let name = try element.string()
            guard let day = Weekday(rawValue: name) else {
                throw element.failure("\"\(name)\" is not a weekday (use one of: \(Weekday.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard days.insert(day).inserted else { throw element.failure("\"\(name)\" is listed twice") }
        }
        guard days.count < Weekday.allCases.count else {
            throw field.failure("lists all seven days; at least one day of the week must be a working day")
        }
        return days
    }

    private static func parseCoveredYears(_ field: DeadlineJSONField) throws -> [Int] {
        let elements = try field.array()
        guard !elements.isEmpty else { throw field.failure("is empty; list the years whose holidays are given, e.g. [2025, 2026]") }
        var years: [Int] = []
        for element in elements {
            let year = try element.integer()
            guard (1...9999).contains(year) else { throw element.failure("\(year) is not a year (1–9999)") }
            guard !years.contains(year) else { throw element.failure("\(year) is listed twice") }
            years.append(year)
        }
        return years.sorted()
    }

    private static func parseDays(_ field: DeadlineJSONField, coveredYears: [Int]) throws -> [(element: DeadlineJSONField, day: LocalDay)] {
        var days: [(element: DeadlineJSONField, day: LocalDay)] = []
        var seen: Set<LocalDay> = []
        for element in try field.array() {
            let text = try element.string()
            guard let day = LocalDay(parsing: text) else {
                throw element.failure("\"\(text)\" is not a date (YYYY-MM-DD)")
            }
            guard coveredYears.contains(day.year) else {
                throw element.failure("\"\(text)\" is outside coveredYears (\(coveredYears.map(String.init).joined(separator: ", "))); add \(day.year) to coveredYears")
            }
            guard seen.insert(day).inserted else { throw element.failure("\"\(text)\" is listed twice") }
            days.append((element, day))
        }
        return days
    }
}

/// The local days of a ``WorkCalendar`` already computed: each day's first instant, the next
/// day's, its working periods as absolute intervals (empty on a day off) and its year.
///
/// Foundation's `Calendar` arithmetic (`startOfDay`, `date(bySettingHour:…)`,
/// `component(_:from:)`) cost tens of microseconds a call and intake did it for every case;
/// the cache does it once per day and answers by binary search. The days are contiguous
/// (each day's `next` is the following day's `start`), so walking the array is walking the
/// calendar exactly as the uncached code does, with the same instants. The cache is shared
/// by copies of the calendar and safe across threads (a lock around the array; readers take
/// a copy of it, which is a reference count).
final class WorkingDayCache: Sendable {
    struct Day: Sendable {
        let start: Date
        let next: Date
        let intervals: [(start: Date, end: Date)]
        let year: Int
    }

    /// Days computed at a time when the cache grows.
    static let chunk = 64
    /// The cache holds at most this many days (about 27 years); beyond, the uncached path answers.
    static let maximumDays = 10_000
    /// An instant further than this from the cached days starts a new cache instead of filling the gap.
    static let maximumGap: TimeInterval = 3 * 366 * 86_400

    private let state = Mutex<[Day]>([])

    var days: [Day] { state.withLock { $0 } }

    func update<Result>(_ body: (inout [Day]) -> Result?) -> Result? {
        state.withLock { days in
            var copy = days
            guard let result = body(&copy) else { return nil }
            days = copy
            return result
        }
    }

    /// The index of the day containing `instant`, nil when it is not cached.
    static func index(of instant: Date, in days: [Day]) -> Int? {
        guard let first = days.first, let last = days.last, instant >= first.start, instant < last.next else { return nil }
        var low = 0, high = days.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if days[middle].start <= instant { low = middle } else { high = middle - 1 }
        }
        return low
    }
}

extension WorkingDayCache: Equatable {
    /// A cache is not part of a calendar's value.
    static func == (lhs: WorkingDayCache, rhs: WorkingDayCache) -> Bool { true }
}
