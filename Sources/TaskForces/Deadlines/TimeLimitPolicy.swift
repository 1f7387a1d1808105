import Foundation

/// How a deadline counts time.
package enum DeadlineClock: String, Sendable, Codable {
    /// Plain elapsed time, day and night, weekends and holidays included.
    case calendar
    /// Working time only: the working periods of working days in a ``WorkCalendar``.
    case working
}

/// A computed case deadline.
package struct CaseDeadline: Sendable, Equatable {
    /// When the response is due.
    package let dueAt: Date
    /// The warning point: the moment the policy's warning fraction (e.g. 75%) of the allowed
    /// time has elapsed, measured on the same clock as the deadline.
    package let warnAt: Date
    /// Which rule decided, for the ledger, e.g. `kind business_scope_change: 3 h calendar (urgent ×0.5 = 1.5 h)`.
    package let rule: String
    /// The matter kind key whose limit was used, if any (nil when a task force default or an
    /// escalation level decided).
    package let kind: String?
    /// Years a working-clock deadline ran through without holiday data in the calendar:
    /// there only weekends were days off, so the deadline may be wrong. Empty when the
    /// calendar covers the whole span (or the limit runs on the calendar clock). The
    /// ``rule`` says so too, so the ledger and every screen that shows it are loud about it.
    package let uncoveredYears: [Int]

    /// Creates a deadline.
    /// - Parameters:
    ///   - dueAt: when the response is due.
    ///   - warnAt: when the case starts to show as at risk.
    ///   - rule: which rule decided, for the ledger.
    ///   - kind: the matter kind key whose limit was used, if any.
    ///   - uncoveredYears: years counted without holiday data.
    package init(dueAt: Date, warnAt: Date, rule: String, kind: String?, uncoveredYears: [Int] = []) {
        self.dueAt = dueAt
        self.warnAt = warnAt
        self.rule = rule
        self.kind = kind
        self.uncoveredYears = uncoveredYears
    }
}

/// Response time limits per task force and per kind of matter, kept as data.
///
/// Parsed from `data/policy/time-limits.json`. A deadline comes from, in order: the
/// escalation level's limit when the case has been escalated; otherwise the matter kind's
/// limit when a kind is given; otherwise the task force's default.
package struct TimeLimitPolicy: Sendable, Equatable {
    /// A name in simplified Chinese and in English.
    package struct Names: Sendable, Equatable {
        /// The name in simplified Chinese, e.g. 经营范围变更.
        package let zh: String
        /// The name in English, e.g. business scope change.
        package let en: String
    }

    /// An allowed response time on a clock.
    package struct Limit: Sendable, Equatable, CustomStringConvertible {
        /// The allowed time in hours of the clock.
        package let hours: Double
        /// The clock the hours are counted on.
        package let clock: DeadlineClock

        /// E.g. `3 h calendar`.
        package var description: String { "\(TimeLimitPolicy.formatted(hours)) h \(clock.rawValue)" }
    }

    /// A task force's default response limit.
    package struct TaskForceLimit: Sendable, Equatable {
        /// The task force key (its queue name), e.g. `tax`.
        package let key: String
        /// The task force's names.
        package let names: Names
        /// The default response limit for its cases.
        package let limit: Limit
        /// The sign-off limit when the task force sets its own (else ``CaseworkPolicy/signOff``).
        package var signOff: Limit? = nil
    }

    /// A kind of matter with its own limit and the keywords that detect it.
    package struct MatterKind: Sendable, Equatable {
        /// The kind key, e.g. `business_scope_change`.
        package let key: String
        /// The kind's names.
        package let names: Names
        /// The response limit for matters of this kind.
        package let limit: Limit
        /// Detection keywords, simplified Chinese first, then lowercase English.
        package let keywords: [String]
        /// The sign-off limit when the kind sets its own (it wins over the task force's).
        package var signOff: Limit? = nil
    }

    /// A level of the escalation chain and the limit it gets.
    package struct EscalationLevel: Sendable, Equatable {
        /// The level number, 1 upwards.
        package let level: Int
        /// Who handles the case at this level, e.g. `department`.
        package let name: String
        /// The response limit at this level.
        package let limit: Limit
    }

    /// Multiplies the allowed time of urgent cases, e.g. 0.5.
    package let urgentFactor: Double
    /// The share of the allowed time after which a case is at risk, e.g. 0.75.
    package let warningFraction: Double
    /// The matter kinds, in file order (the order that breaks detection ties).
    package let kinds: [MatterKind]
    /// The escalation levels, 1, 2, … in order.
    package let escalationLevels: [EscalationLevel]
    /// The operator notes of the data file.
    package let notes: [String]

    /// Which levels people own and the limits of their casework (the `casework` object;
    /// defaults when the file has none).
    package let casework: CaseworkPolicy

    private let taskForces: [String: TaskForceLimit]

    /// Parses the `time-limits.json` format.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    /// - Throws: ``TaskForcesError`` naming `time-limits.json` and the field that is wrong.
    package init(json: Data) throws {
        try self.init(json: json, sourceName: "time-limits.json")
    }

    /// Parses the `time-limits.json` format, naming the source in errors.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    ///   - sourceName: the name errors give the data, e.g. a file path.
    /// - Throws: ``TaskForcesError`` naming `sourceName` and the field that is wrong.
    package init(json: Data, sourceName: String) throws {
        let root = try DeadlineJSONField.parse(json, file: sourceName)
        let fields = try root.members(
            required: ["urgentFactor", "warningFraction", "taskForces", "kinds", "escalationLevels"],
            optional: ["notes", "casework"]
        )
        func field(_ key: String) throws -> DeadlineJSONField {
            guard let value = fields[key] else { throw root.child(key).failure("is missing") }
            return value
        }

        notes = try fields["notes"].map { try $0.notes() } ?? []

        let urgentField = try field("urgentFactor")
        urgentFactor = try urgentField.number()
        guard urgentFactor > 0, urgentFactor <= 1 else {
            throw urgentField.failure("\(Self.formatted(urgentFactor)) is out of range; use a factor above 0 and at most 1 (0.5 halves the time)")
        }
        let warningField = try field("warningFraction")
        warningFraction = try warningField.number()
        guard warningFraction > 0, warningFraction < 1 else {
            throw warningField.failure("\(Self.formatted(warningFraction)) is out of range; use a fraction between 0 and 1 (0.75 warns at 75%)")
        }

        let taskForceField = try field("taskForces")
        var taskForces: [String: TaskForceLimit] = [:]
        for (key, entry) in try taskForceField.namedMembers() {
            guard Self.isValidKey(key) else {
                throw entry.failure("is not a valid task force key (lowercase letters, digits and _, starting with a letter)")
            }
            let members = try entry.members(required: ["names", "hours", "clock"], optional: ["basis", "signOff"])
            taskForces[key] = TaskForceLimit(
                key: key,
                names: try Self.parseNames(members, in: entry),
                limit: try Self.parseLimit(members, in: entry),
                signOff: try members["signOff"].map { try Self.parseLimit($0.members(required: ["hours", "clock"]), in: $0) }
            )
        }
        guard !taskForces.isEmpty else { throw taskForceField.failure("is empty; give at least the triage task force") }
        self.taskForces = taskForces

        var kinds: [MatterKind] = []
        for element in try field("kinds").array() {
            let members = try element.members(required: ["key", "names", "hours", "clock", "keywords"], optional: ["basis", "signOff"])
            guard let keyField = members["key"] else { throw element.child("key").failure("is missing") }
            let key = try keyField.string()
            guard Self.isValidKey(key) else {
                throw keyField.failure("\"\(key)\" is not a valid kind key (lowercase letters, digits and _, starting with a letter)")
            }
            guard !kinds.contains(where: { $0.key == key }) else { throw keyField.failure("\"\(key)\" is listed twice") }
            kinds.append(MatterKind(
                key: key,
                names: try Self.parseNames(members, in: element),
                limit: try Self.parseLimit(members, in: element),
                keywords: try Self.parseKeywords(members, in: element),
                signOff: try members["signOff"].map { try Self.parseLimit($0.members(required: ["hours", "clock"]), in: $0) }
            ))
        }
        self.kinds = kinds

        var levels: [EscalationLevel] = []
        for element in try field("escalationLevels").array() {
            let members = try element.members(required: ["level", "name", "hours", "clock"])
            guard let levelField = members["level"], let nameField = members["name"] else {
                throw element.failure("needs level and name")
            }
            let level = try levelField.integer()
            guard level == levels.count + 1 else {
                throw levelField.failure("is \(level), expected \(levels.count + 1); number levels 1, 2, … in order")
            }
            let name = try nameField.string()
            guard !name.isEmpty else { throw nameField.failure("is empty") }
            levels.append(EscalationLevel(level: level, name: name, limit: try Self.parseLimit(members, in: element)))
        }
        escalationLevels = levels
        casework = try fields["casework"].map { try CaseworkPolicy(field: $0, highestLevel: levels.count) }
            ?? CaseworkPolicy.defaults(highestLevel: levels.count)
    }

    /// Reads and parses a time-limit policy file, naming the file in errors.
    /// - Parameters:
    ///   - url: the location of a file in the `time-limits.json` format.
    /// - Throws: ``TaskForcesError`` when the file cannot be read or a field is wrong.
    package init(contentsOf url: URL) throws {
        try self.init(json: try TaskForcesError.contents(of: url), sourceName: url.lastPathComponent)
    }

    /// The policy shipped with the program: `data/policy/time-limits.json`, embedded at build time.
    /// - Throws: ``TaskForcesError`` if the embedded data is wrong (a test guards against that).
    package static func bundledDefault() throws -> TimeLimitPolicy {
        try TimeLimitPolicy(json: Data(try PolicyFile.embedded("time-limits.json").utf8))
    }

    // MARK: Questions

    /// The known matter kind keys, sorted.
    package var kindKeys: [String] { kinds.map(\.key).sorted() }

    /// The known task force keys, sorted.
    package var taskForceKeys: [String] { taskForces.keys.sorted() }

    /// The highest escalation level the policy defines (0 when it defines none).
    package var highestEscalationLevel: Int { escalationLevels.count }

    /// Whether the policy has a default limit for the task force `key`.
    /// - Parameters:
    ///   - key: a task force key (queue name), e.g. `tax`.
    package func isKnownTaskForce(_ key: String) -> Bool { taskForces[key] != nil }

    /// The task force's default limit, or nil when the key is unknown.
    /// - Parameters:
    ///   - key: a task force key (queue name), e.g. `tax`.
    package func taskForce(_ key: String) -> TaskForceLimit? { taskForces[key] }

    /// The matter kind with this key, or nil when the key is unknown.
    /// - Parameters:
    ///   - key: a matter kind key, e.g. `business_licence`.
    package func kind(_ key: String) -> MatterKind? { kinds.first { $0.key == key } }

    /// Detects a kind from already-normalised text (lowercased, simplified Chinese): keyword match; the kind with the most keyword hits wins, ties by the order in the file; nil when none.
    ///
    /// A hit is a keyword that occurs in the text (each keyword counts once, however often it occurs).
    /// - Parameters:
    ///   - text: the case text after normalisation (lowercase, simplified Chinese).
    package func detectKind(inNormalizedText text: String) -> String? {
        var best: (key: String, hits: Int)?
        for kind in kinds {
            let hits = kind.keywords.reduce(0) { count, keyword in text.containsExactly(keyword) ? count + 1 : count }
            if hits > 0, hits > (best?.hits ?? 0) { best = (kind.key, hits) }
        }
        return best?.key
    }

    /// The deadline for a case. kind overrides the task force default when given and known; unknown kind → throws with a message listing known kinds. urgent multiplies the allowed time by urgentFactor. escalationLevel 0 = first response; level n ≥ 1 uses escalation level n's limit (levels: 1 department, 2 task force) instead of the kind/task-force one.
    /// - Parameters:
    ///   - taskForce: the task force key the case is routed to, e.g. `tax`.
    ///   - kind: the matter kind key, if known (e.g. from ``detectKind(inNormalizedText:)``).
    ///   - urgent: whether the case is urgent (急事急办); multiplies the allowed time by ``urgentFactor``.
    ///   - escalationLevel: 0 for the first response, n ≥ 1 for escalation level n.
    ///   - receivedAt: when the case (or the escalation) was received; counting starts here.
    ///   - calendar: the working calendar for limits on the working clock.
    /// - Throws: ``TaskForcesError`` for an unknown task force, kind or escalation level.
    package func deadline(
        taskForce: String,
        kind: String?,
        urgent: Bool,
        escalationLevel: Int,
        receivedAt: Date,
        calendar: WorkCalendar
    ) throws -> CaseDeadline {
        guard let taskForceLimit = taskForces[taskForce] else {
            throw TaskForcesError.policyTaskForce(taskForce, known: taskForceKeys)
        }
        var matterKind: MatterKind?
        if let kind {
            guard let known = self.kind(kind) else { throw TaskForcesError.unknownKind(kind, known: kindKeys) }
            matterKind = known
        }

        let limit: Limit
        let source: String
        let kindUsed: String?
        if escalationLevel == 0 {
            if let matterKind {
                (limit, source, kindUsed) = (matterKind.limit, "kind \(matterKind.key)", matterKind.key)
            } else {
                (limit, source, kindUsed) = (taskForceLimit.limit, "task force \(taskForce)", nil)
            }
        } else {
            guard escalationLevel > 0, escalationLevel <= escalationLevels.count else {
                throw TaskForcesError.unknownEscalationLevel(escalationLevel, known: escalationLevels.map(\.level))
            }
            let level = escalationLevels[escalationLevel - 1]
            (limit, source, kindUsed) = (level.limit, "escalation level \(level.level) (\(level.name))", nil)
        }

        let factor = urgent ? urgentFactor : 1
        let allowedSeconds = limit.hours * 3600 * factor
        func advance(_ seconds: TimeInterval) -> Date {
            switch limit.clock {
            case .calendar: return receivedAt.addingTimeInterval(seconds)
            case .working: return calendar.addingWorkingTime(seconds, to: receivedAt)
            }
        }
        var rule = "\(source): \(limit)"
        if urgent {
            rule += " (urgent ×\(Self.formatted(urgentFactor)) = \(Self.formatted(limit.hours * factor)) h)"
        }
        let dueAt = advance(allowedSeconds)
        // Never a silent working day: a span through a year the calendar has no holidays
        // for is computed with weekends only, and says so.
        let uncovered = limit.clock == .working ? calendar.uncoveredYears(from: receivedAt, to: dueAt) : []
        if !uncovered.isEmpty {
            rule += "; WARNING: calendar has no holidays for \(uncovered.map(String.init).joined(separator: ", ")) (weekends only)"
        }
        return CaseDeadline(
            dueAt: dueAt,
            warnAt: advance(allowedSeconds * warningFraction),
            rule: rule,
            kind: kindUsed,
            uncoveredYears: uncovered
        )
    }

    // MARK: Private

    /// A number without a needless `.0`: 3 → "3", 1.5 → "1.5".
    static func formatted(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    private static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    private static func parseNames(_ members: [String: DeadlineJSONField], in entry: DeadlineJSONField) throws -> Names {
        guard let namesField = members["names"] else { throw entry.child("names").failure("is missing") }
        let names = try namesField.members(required: ["zh", "en"])
        func name(_ key: String) throws -> String {
            guard let field = names[key] else { throw namesField.child(key).failure("is missing") }
            let text = try field.string()
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw field.failure("is empty") }
            return text
        }
        return Names(zh: try name("zh"), en: try name("en"))
    }

    static func parseLimit(_ members: [String: DeadlineJSONField], in entry: DeadlineJSONField) throws -> Limit {
        guard let hoursField = members["hours"] else { throw entry.child("hours").failure("is missing") }
        guard let clockField = members["clock"] else { throw entry.child("clock").failure("is missing") }
        let hours = try hoursField.number()
        guard hours > 0 else { throw hoursField.failure("is \(formatted(hours)); a limit must be more than 0 hours") }
        let clockName = try clockField.string()
        guard let clock = DeadlineClock(rawValue: clockName) else {
            throw clockField.failure("\"\(clockName)\" is not a clock (use \"calendar\" or \"working\")")
        }
        return Limit(hours: hours, clock: clock)
    }

    private static func parseKeywords(_ members: [String: DeadlineJSONField], in entry: DeadlineJSONField) throws -> [String] {
        guard let keywordsField = members["keywords"] else { throw entry.child("keywords").failure("is missing") }
        let languages = try keywordsField.members(required: ["zh", "en"])
        var keywords: [String] = []
        for language in ["zh", "en"] {
            guard let list = languages[language] else { throw keywordsField.child(language).failure("is missing") }
            for element in try list.array() {
                let keyword = try element.string()
                guard !keyword.isEmpty, keyword == keyword.trimmingCharacters(in: .whitespaces) else {
                    throw element.failure("\"\(keyword)\" is empty or has surrounding spaces")
                }
                // Text is normalised before detection, so a keyword in another form never matches.
                guard keyword == keyword.precomposedStringWithCompatibilityMapping.lowercased(),
                      !keyword.contains("  ") else {
                    throw element.failure("\"\(keyword)\" is not normalised; write keywords in lowercase, half-width, with single spaces")
                }
                guard !keywords.contains(keyword) else { throw element.failure("\"\(keyword)\" is listed twice") }
                keywords.append(keyword)
            }
        }
        return keywords
    }
}
