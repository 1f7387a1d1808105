import Foundation

/// Working calendar: working hours on working days, weekends, public holidays, and the make-up working days (调休上班) that Chinese holiday notices declare.
///
/// The calendar is data (`data/policy/calendar.json`) so operators can add next year's
/// holidays when the State Council publishes them. All day and hour questions are answered
/// in the calendar's own ``timeZone``, whatever the time zone of the process.
public struct WorkCalendar: Sendable, Equatable {
    /// A day of the week, named as in `calendar.json` (`"saturday"`, `"sunday"`, …).
    public enum Weekday: String, Sendable, CaseIterable, Codable {
        case sunday, monday, tuesday, wednesday, thursday, friday, saturday

        /// Foundation's weekday number for this day (1 = Sunday … 7 = Saturday).
        public var gregorianWeekday: Int {
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
    public struct WorkingPeriod: Sendable, Equatable, CustomStringConvertible {
        /// Minutes after local midnight at which the period starts.
        public let startMinute: Int
        /// Minutes after local midnight at which the period ends (1440 = 24:00).
        public let endMinute: Int

        /// The period's length on an ordinary day.
        public var duration: TimeInterval { TimeInterval(endMinute - startMinute) * 60 }

        /// The period as written in `calendar.json`, e.g. `08:30–12:00`.
        public var description: String {
            "\(Self.clockText(startMinute))–\(Self.clockText(endMinute))"
        }

        static func clockText(_ minute: Int) -> String {
            let hours = minute / 60, minutes = minute % 60
            return (hours < 10 ? "0" : "") + "\(hours):" + (minutes < 10 ? "0" : "") + "\(minutes)"
        }
    }

    /// The time zone in which days and working hours are reckoned, e.g. Asia/Shanghai.
    public let timeZone: TimeZone
    /// The working periods of a working day, in order and not overlapping.
    public let workingPeriods: [WorkingPeriod]
    /// The days of the week that are days off unless declared make-up working days.
    public let weekendDays: Set<Weekday>
    /// The years whose holidays and make-up working days the data lists, ascending.
    public let coveredYears: [Int]
    /// The operator notes of the data file (where the dates come from).
    public let notes: [String]

    private let holidays: Set<LocalDay>
    private let makeupWorkdays: Set<LocalDay>
    private let gregorian: Calendar

    /// Parses the `calendar.json` format.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    /// - Throws: ``DeadlineDataError`` naming `calendar.json` and the field that is wrong.
    public init(json: Data) throws {
        try self.init(json: json, sourceName: "calendar.json")
    }

    /// Parses the `calendar.json` format, naming the source in errors.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    ///   - sourceName: the name errors give the data, e.g. a file path.
    /// - Throws: ``DeadlineDataError`` naming `sourceName` and the field that is wrong.
    public init(json: Data, sourceName: String) throws {
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
    /// - Throws: ``DeadlineDataError`` when the file cannot be read or a field is wrong.
    public init(contentsOf url: URL) throws {
        try self.init(json: try DeadlineDataError.contents(of: url), sourceName: url.lastPathComponent)
    }

    /// The calendar shipped with the program: ``defaultJSON``, the content of `data/policy/calendar.json`.
    /// - Throws: ``DeadlineDataError`` if the embedded data is wrong (a test guards against that).
    public static func bundledDefault() throws -> WorkCalendar {
        try WorkCalendar(json: Data(defaultJSON.utf8))
    }

    // MARK: Days

    /// Whether the local day (in ``timeZone``) containing `date` is a working day:
    /// a make-up working day is; otherwise a holiday or a weekend day is not; any other day is.
    /// - Parameters:
    ///   - date: any moment of the day in question.
    public func isWorkingDay(_ date: Date) -> Bool {
        let day = localDay(of: date)
        if makeupWorkdays.contains(day) { return true }
        if holidays.contains(day) { return false }
        return !weekendDays.contains(where: { $0.gregorianWeekday == gregorian.component(.weekday, from: date) })
    }

    /// Whether the local day containing `date` is listed as a public holiday (a day off of a holiday block).
    /// - Parameters:
    ///   - date: any moment of the day in question.
    public func isHoliday(_ date: Date) -> Bool {
        holidays.contains(localDay(of: date))
    }

    /// Whether the local day containing `date` is listed as a make-up working day (调休上班).
    /// - Parameters:
    ///   - date: any moment of the day in question.
    public func isMakeupWorkday(_ date: Date) -> Bool {
        makeupWorkdays.contains(localDay(of: date))
    }

    /// Whether the data lists holidays for the year of `date`; when it does not, only weekends
    /// are days off that year, and operators should add the year's official dates.
    /// - Parameters:
    ///   - date: any moment of the year in question.
    public func hasHolidayData(for date: Date) -> Bool {
        coveredYears.contains(gregorian.component(.year, from: date))
    }

    // MARK: Working time

    /// The moment at which `seconds` of working time have passed since `start`, counting only
    /// the working periods of working days. A start outside working hours begins counting at
    /// the next working period's start. A count that ends exactly at the end of a working
    /// period ends there (not at the next period's start).
    /// - Parameters:
    ///   - seconds: working time to add; zero or less returns `start` unchanged.
    ///   - start: the moment counting begins.
    public func addingWorkingTime(_ seconds: TimeInterval, to start: Date) -> Date {
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

    /// The working time between two moments: the overlap of `[start, end)` with the working
    /// periods of working days; 0 when `end` is not after `start`.
    /// - Parameters:
    ///   - start: the earlier moment.
    ///   - end: the later moment.
    public func workingTime(from start: Date, to end: Date) -> TimeInterval {
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

// MARK: - Errors in the deadline data files

/// A value in a deadline data file (`calendar.json`, `time-limits.json`) that cannot be used.
/// It names the file and the field, so an operator can fix it, e.g.
/// `calendar.json: holidays[3] "2026-13-01" is not a date (YYYY-MM-DD)`.
public struct DeadlineDataError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The file the data came from, e.g. `calendar.json`.
    public let file: String
    /// The path of the offending field, e.g. `holidays[3]` or `workingHours[1].end`; empty when the whole file is at fault.
    public let field: String
    /// What is wrong with the field, e.g. `"2026-13-01" is not a date (YYYY-MM-DD)`.
    public let problem: String

    /// Creates an error about one field of a data file.
    /// - Parameters:
    ///   - file: the file the data came from.
    ///   - field: the path of the offending field; empty for the whole file.
    ///   - problem: what is wrong with it.
    public init(file: String, field: String, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    /// `file: field problem`, e.g. `calendar.json: timeZone is missing`.
    public var description: String {
        field.isEmpty ? "\(file): \(problem)" : "\(file): \(field) \(problem)"
    }

    /// The same text as ``description``.
    public var errorDescription: String? { description }

    /// Reads a data file, or throws an error naming it.
    static func contents(of url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw DeadlineDataError(file: url.path, field: "", problem: "cannot be read (\(error.localizedDescription))")
        }
    }
}

// MARK: - Reading the data files

/// Any JSON value, decoded without a fixed schema so that the deadline data files can be
/// checked field by field with messages that name the field.
enum DeadlineJSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([DeadlineJSONValue])
    case object([String: DeadlineJSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([DeadlineJSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: DeadlineJSONValue].self))
        }
    }

    /// What kind of value this is, for messages ("a string", "an array", …).
    var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON value together with the file and the path that reached it, e.g. `workingHours[1].end`.
struct DeadlineJSONField: Sendable {
    let file: String
    let path: String
    let value: DeadlineJSONValue

    /// Parses a whole file.
    static func parse(_ data: Data, file: String) throws -> DeadlineJSONField {
        do {
            return DeadlineJSONField(file: file, path: "", value: try JSONDecoder().decode(DeadlineJSONValue.self, from: data))
        } catch {
            throw DeadlineDataError(file: file, field: "", problem: "is not valid JSON (\(syntaxDiagnosis(of: data) ?? "\(error)"))")
        }
    }

    /// Where and why JSON text fails to parse, e.g. `line 3: Invalid value around character 41.`,
    /// from JSONSerialization (whose messages say more than JSONDecoder's); nil if it parses.
    private static func syntaxDiagnosis(of data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            guard let marker = detail.range(of: "character "),
                  let offset = Int(detail[marker.upperBound...].prefix(while: { $0.isNumber })),
                  offset <= data.count
            else { return detail }
            let line = data.prefix(offset).reduce(1) { lines, byte in byte == 0x0A ? lines + 1 : lines }
            return "line \(line): \(detail)"
        }
    }

    /// An error about this field.
    func failure(_ problem: String) -> DeadlineDataError {
        DeadlineDataError(file: file, field: path, problem: problem)
    }

    /// The member `key` of this object (for naming a missing member too).
    func child(_ key: String, value: DeadlineJSONValue = .null) -> DeadlineJSONField {
        DeadlineJSONField(file: file, path: path.isEmpty ? key : "\(path).\(key)", value: value)
    }

    private func typeFailure(_ expected: String) -> DeadlineDataError {
        if path.isEmpty { return failure("should hold \(expected), found \(value.kindDescription)") }
        return failure("should be \(expected), found \(value.kindDescription)")
    }

    /// The members of this object, after checking that it is an object, that every required
    /// member is present and that there is no member of another name (a misspelt key).
    func members(required: [String], optional: [String] = []) throws -> [String: DeadlineJSONField] {
        guard case .object(let object) = value else { throw typeFailure("an object") }
        let known = Set(required + optional)
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw child(unknown).failure("is not a known field (expected: \(known.sorted().joined(separator: ", ")))")
        }
        if let missing = required.first(where: { object[$0] == nil }) {
            throw child(missing).failure("is missing")
        }
        var fields: [String: DeadlineJSONField] = [:]
        for (key, member) in object { fields[key] = child(key, value: member) }
        return fields
    }

    /// The members of this object whose names the data chooses (e.g. task force keys), sorted by name.
    func namedMembers() throws -> [(name: String, field: DeadlineJSONField)] {
        guard case .object(let object) = value else { throw typeFailure("an object") }
        return object.keys.sorted().compactMap { key in object[key].map { (key, child(key, value: $0)) } }
    }

    /// The elements of this array, each with its index in the path.
    func array() throws -> [DeadlineJSONField] {
        guard case .array(let elements) = value else { throw typeFailure("an array") }
        return elements.enumerated().map { index, element in
            DeadlineJSONField(file: file, path: "\(path)[\(index)]", value: element)
        }
    }

    func string() throws -> String {
        guard case .string(let text) = value else { throw typeFailure("a string") }
        return text
    }

    func number() throws -> Double {
        guard case .number(let number) = value, number.isFinite else { throw typeFailure("a number") }
        return number
    }

    func integer() throws -> Int {
        let number = try number()
        guard number == number.rounded(), abs(number) < 1e15 else { throw failure("should be a whole number, found \(number)") }
        return Int(number)
    }

    /// Notes: one string, or an array of strings.
    func notes() throws -> [String] {
        if case .string(let text) = value { return [text] }
        guard case .array = value else { throw typeFailure("a string or an array of strings") }
        return try array().map { try $0.string() }
    }
}

// MARK: - Embedded default

extension WorkCalendar {
    /// The content of `data/policy/calendar.json`, embedded so the program runs without the file.
    /// Keep it identical to the file: edit the file, then copy it here (a test compares them).
    public static let defaultJSON: String = #"""
        {
          "notes": [
            "Working calendar for case response deadlines that count working time. Operators may edit this file; the service rejects it with a message naming the field when a value is wrong.",
            "timeZone: an IANA identifier. workingHours: local HH:MM periods of a working day, in order and not overlapping (the gap between them is the lunch break). weekend: lowercase English weekday names.",
            "holidays: every day off (放假) of each official holiday block, including the weekend days inside the block. makeupWorkdays: the weekend days declared working days (调休上班). A date may not be in both lists. Every date must fall in one of coveredYears; add the next year's dates and its number there when the State Council publishes them (usually in November).",
            "2025: 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号, 2024-11-12): 元旦 1月1日; 春节 1月28日-2月4日, 1月26日(周日) 2月8日(周六)上班; 清明节 4月4日-6日; 劳动节 5月1日-5日, 4月27日(周日)上班; 端午节 5月31日-6月2日; 国庆节 中秋节 10月1日-8日, 9月28日(周日) 10月11日(周六)上班.",
            "2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04, published by Xinhua): 元旦 1月1日-3日, 1月4日(周日)上班; 春节 2月15日-23日, 2月14日(周六) 2月28日(周六)上班; 清明节 4月4日-6日; 劳动节 5月1日-5日, 5月9日(周六)上班; 端午节 6月19日-21日; 中秋节 9月25日-27日; 国庆节 10月1日-7日, 9月20日(周日) 10月10日(周六)上班."
          ],
          "timeZone": "Asia/Shanghai",
          "workingHours": [
            { "start": "08:30", "end": "12:00" },
            { "start": "13:00", "end": "17:30" }
          ],
          "weekend": ["saturday", "sunday"],
          "coveredYears": [2025, 2026],
          "holidays": [
            "2025-01-01",
            "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02", "2025-02-03", "2025-02-04",
            "2025-04-04", "2025-04-05", "2025-04-06",
            "2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04", "2025-05-05",
            "2025-05-31", "2025-06-01", "2025-06-02",
            "2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04", "2025-10-05", "2025-10-06", "2025-10-07", "2025-10-08",
            "2026-01-01", "2026-01-02", "2026-01-03",
            "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
            "2026-04-04", "2026-04-05", "2026-04-06",
            "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
            "2026-06-19", "2026-06-20", "2026-06-21",
            "2026-09-25", "2026-09-26", "2026-09-27",
            "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"
          ],
          "makeupWorkdays": [
            "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
            "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"
          ]
        }

        """#
}
