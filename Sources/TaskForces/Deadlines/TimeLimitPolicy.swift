import Foundation

/// How a deadline counts time.
public enum DeadlineClock: String, Sendable, Codable {
    /// Plain elapsed time, day and night, weekends and holidays included.
    case calendar
    /// Working time only: the working periods of working days in a ``WorkCalendar``.
    case working
}

/// A computed case deadline.
public struct CaseDeadline: Sendable, Equatable {
    /// When the response is due.
    public let dueAt: Date
    /// The warning point: the moment the policy's warning fraction (e.g. 75%) of the allowed
    /// time has elapsed, measured on the same clock as the deadline.
    public let warnAt: Date
    /// Which rule decided, for the ledger, e.g. `kind business_scope_change: 3 h calendar (urgent ×0.5 = 1.5 h)`.
    public let rule: String
    /// The matter kind key whose limit was used, if any (nil when a task force default or an
    /// escalation level decided).
    public let kind: String?

    /// Creates a deadline.
    /// - Parameters:
    ///   - dueAt: when the response is due.
    ///   - warnAt: when the case starts to show as at risk.
    ///   - rule: which rule decided, for the ledger.
    ///   - kind: the matter kind key whose limit was used, if any.
    public init(dueAt: Date, warnAt: Date, rule: String, kind: String?) {
        self.dueAt = dueAt
        self.warnAt = warnAt
        self.rule = rule
        self.kind = kind
    }
}

/// A request for a deadline that the policy cannot answer.
public enum DeadlineError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The task force key is not in the policy; `known` lists the keys that are.
    case unknownTaskForce(String, known: [String])
    /// The matter kind key is not in the policy; `known` lists the keys that are.
    case unknownKind(String, known: [String])
    /// The escalation level is negative or beyond the policy's levels; `known` lists the levels.
    case unknownEscalationLevel(Int, known: [Int])

    /// A message that names the bad value and lists the valid ones.
    public var description: String {
        switch self {
        case .unknownTaskForce(let key, let known):
            return "unknown task force \"\(key)\"; the time-limit policy knows: \(known.joined(separator: ", "))"
        case .unknownKind(let key, let known):
            return "unknown matter kind \"\(key)\"; the time-limit policy knows: \(known.joined(separator: ", "))"
        case .unknownEscalationLevel(let level, let known):
            return "unknown escalation level \(level); use 0 (first response) or one of the policy's levels: \(known.map(String.init).joined(separator: ", "))"
        }
    }

    /// The same text as ``description``.
    public var errorDescription: String? { description }
}

/// Response time limits per task force and per kind of matter, kept as data.
///
/// Parsed from `data/policy/time-limits.json`. A deadline comes from, in order: the
/// escalation level's limit when the case has been escalated; otherwise the matter kind's
/// limit when a kind is given; otherwise the task force's default.
public struct TimeLimitPolicy: Sendable, Equatable {
    /// A name in simplified Chinese and in English.
    public struct Names: Sendable, Equatable {
        /// The name in simplified Chinese, e.g. 经营范围变更.
        public let zh: String
        /// The name in English, e.g. business scope change.
        public let en: String
    }

    /// An allowed response time on a clock.
    public struct Limit: Sendable, Equatable, CustomStringConvertible {
        /// The allowed time in hours of the clock.
        public let hours: Double
        /// The clock the hours are counted on.
        public let clock: DeadlineClock

        /// E.g. `3 h calendar`.
        public var description: String { "\(TimeLimitPolicy.formatted(hours)) h \(clock.rawValue)" }
    }

    /// A task force's default response limit.
    public struct TaskForceLimit: Sendable, Equatable {
        /// The task force key (its queue name), e.g. `tax`.
        public let key: String
        /// The task force's names.
        public let names: Names
        /// The default response limit for its cases.
        public let limit: Limit
    }

    /// A kind of matter with its own limit and the keywords that detect it.
    public struct MatterKind: Sendable, Equatable {
        /// The kind key, e.g. `business_scope_change`.
        public let key: String
        /// The kind's names.
        public let names: Names
        /// The response limit for matters of this kind.
        public let limit: Limit
        /// Detection keywords, simplified Chinese first, then lowercase English.
        public let keywords: [String]
    }

    /// A level of the escalation chain and the limit it gets.
    public struct EscalationLevel: Sendable, Equatable {
        /// The level number, 1 upwards.
        public let level: Int
        /// Who handles the case at this level, e.g. `department`.
        public let name: String
        /// The response limit at this level.
        public let limit: Limit
    }

    /// Multiplies the allowed time of urgent cases, e.g. 0.5.
    public let urgentFactor: Double
    /// The share of the allowed time after which a case is at risk, e.g. 0.75.
    public let warningFraction: Double
    /// The matter kinds, in file order (the order that breaks detection ties).
    public let kinds: [MatterKind]
    /// The escalation levels, 1, 2, … in order.
    public let escalationLevels: [EscalationLevel]
    /// The operator notes of the data file.
    public let notes: [String]

    private let taskForces: [String: TaskForceLimit]

    /// Parses the `time-limits.json` format.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    /// - Throws: ``DeadlineDataError`` naming `time-limits.json` and the field that is wrong.
    public init(json: Data) throws {
        try self.init(json: json, sourceName: "time-limits.json")
    }

    /// Parses the `time-limits.json` format, naming the source in errors.
    /// - Parameters:
    ///   - json: the file's bytes (UTF-8 JSON).
    ///   - sourceName: the name errors give the data, e.g. a file path.
    /// - Throws: ``DeadlineDataError`` naming `sourceName` and the field that is wrong.
    public init(json: Data, sourceName: String) throws {
        let root = try DeadlineJSONField.parse(json, file: sourceName)
        let fields = try root.members(
            required: ["urgentFactor", "warningFraction", "taskForces", "kinds", "escalationLevels"],
            optional: ["notes"]
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
            let members = try entry.members(required: ["names", "hours", "clock"], optional: ["basis"])
            taskForces[key] = TaskForceLimit(
                key: key,
                names: try Self.parseNames(members, in: entry),
                limit: try Self.parseLimit(members, in: entry)
            )
        }
        guard !taskForces.isEmpty else { throw taskForceField.failure("is empty; give at least the triage task force") }
        self.taskForces = taskForces

        var kinds: [MatterKind] = []
        for element in try field("kinds").array() {
            let members = try element.members(required: ["key", "names", "hours", "clock", "keywords"], optional: ["basis"])
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
                keywords: try Self.parseKeywords(members, in: element)
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
    }

    /// Reads and parses a time-limit policy file, naming the file in errors.
    /// - Parameters:
    ///   - url: the location of a file in the `time-limits.json` format.
    /// - Throws: ``DeadlineDataError`` when the file cannot be read or a field is wrong.
    public init(contentsOf url: URL) throws {
        try self.init(json: try DeadlineDataError.contents(of: url), sourceName: url.lastPathComponent)
    }

    /// The policy shipped with the program: ``defaultJSON``, the content of `data/policy/time-limits.json`.
    /// - Throws: ``DeadlineDataError`` if the embedded data is wrong (a test guards against that).
    public static func bundledDefault() throws -> TimeLimitPolicy {
        try TimeLimitPolicy(json: Data(defaultJSON.utf8))
    }

    // MARK: Questions

    /// The known matter kind keys, sorted.
    public var kindKeys: [String] { kinds.map(\.key).sorted() }

    /// The known task force keys, sorted.
    public var taskForceKeys: [String] { taskForces.keys.sorted() }

    /// The highest escalation level the policy defines (0 when it defines none).
    public var highestEscalationLevel: Int { escalationLevels.count }

    /// Whether the policy has a default limit for the task force `key`.
    /// - Parameters:
    ///   - key: a task force key (queue name), e.g. `tax`.
    public func isKnownTaskForce(_ key: String) -> Bool { taskForces[key] != nil }

    /// The task force's default limit, or nil when the key is unknown.
    /// - Parameters:
    ///   - key: a task force key (queue name), e.g. `tax`.
    public func taskForce(_ key: String) -> TaskForceLimit? { taskForces[key] }

    /// The matter kind with this key, or nil when the key is unknown.
    /// - Parameters:
    ///   - key: a matter kind key, e.g. `business_licence`.
    public func kind(_ key: String) -> MatterKind? { kinds.first { $0.key == key } }

    /// Detects a kind from already-normalised text (lowercased, simplified Chinese): keyword match; the kind with the most keyword hits wins, ties by the order in the file; nil when none.
    ///
    /// A hit is a keyword that occurs in the text (each keyword counts once, however often it occurs).
    /// - Parameters:
    ///   - text: the case text after normalisation (lowercase, simplified Chinese).
    public func detectKind(inNormalizedText text: String) -> String? {
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
    /// - Throws: ``DeadlineError`` for an unknown task force, kind or escalation level.
    public func deadline(
        taskForce: String,
        kind: String?,
        urgent: Bool,
        escalationLevel: Int,
        receivedAt: Date,
        calendar: WorkCalendar
    ) throws -> CaseDeadline {
        guard let taskForceLimit = taskForces[taskForce] else {
            throw DeadlineError.unknownTaskForce(taskForce, known: taskForceKeys)
        }
        var matterKind: MatterKind?
        if let kind {
            guard let known = self.kind(kind) else { throw DeadlineError.unknownKind(kind, known: kindKeys) }
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
                throw DeadlineError.unknownEscalationLevel(escalationLevel, known: escalationLevels.map(\.level))
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
        return CaseDeadline(
            dueAt: advance(allowedSeconds),
            warnAt: advance(allowedSeconds * warningFraction),
            rule: rule,
            kind: kindUsed
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

    private static func parseLimit(_ members: [String: DeadlineJSONField], in entry: DeadlineJSONField) throws -> Limit {
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

// MARK: - Embedded default

extension TimeLimitPolicy {
    /// The content of `data/policy/time-limits.json`, embedded so the program runs without the file.
    /// Keep it identical to the file: edit the file, then copy it here (a test compares them).
    public static let defaultJSON: String = #"""
        {
          "notes": [
            "Response time limits for enterprise cases, per task force and per kind of matter. Operators may edit this file; the service rejects it with a message naming the field when a value is wrong.",
            "hours are counted on the entry's clock: calendar = plain elapsed time, day and night (the green channel works outside office hours: 不受工作时间限制); working = working time of calendar.json (8 working hours a working day, so 40 working hours = 5 working days).",
            "Only business_scope_change (3 h) and business_licence (48 h) come from the source policy (measure 1: 涉及经营范围变更审批的,3小时内完成;涉及经营许可审批的,48小时内完成). Every other value is this project's operational choice, explained in its entry's basis, for operators to tune.",
            "A limit is the time to the first substantive response (an answer, a decision or a dated plan), after measure 15: 即时承办、及时协调、限时反馈. A matter kind, when known, replaces the task force default.",
            "urgentFactor multiplies the allowed time of urgent cases (急事急办). warningFraction is the share of the allowed time after which a case shows as at risk.",
            "escalationLevels follow measure 9: level 1 = transferred to the district/county or municipal department (转交相关区县或市直部门); level 2 = a major problem the transfer could not solve, submitted to the task force (提交工作专班). An escalated case gets the level's limit instead of the kind or task force limit.",
            "keywords are matched as substrings of normalized text (lowercase, simplified Chinese), so they must be written in lowercase and simplified Chinese. The kind with the most distinct keyword hits wins; a tie goes to the kind listed first."
          ],
          "urgentFactor": 0.5,
          "warningFraction": 0.75,
          "taskForces": {
            "tax": {
              "names": { "zh": "税费问题工作专班", "en": "tax and fees" },
              "hours": 40, "clock": "working",
              "basis": "5 working days: refunds, relief and invoices need the tax bureau's records; time for a checked answer."
            },
            "credit": {
              "names": { "zh": "政府诚信问题工作专班", "en": "government integrity" },
              "hours": 40, "clock": "working",
              "basis": "5 working days: a broken promise or unpaid subsidy must be verified with the promising unit before answering."
            },
            "legal": {
              "names": { "zh": "涉法涉诉问题工作专班", "en": "law-related and litigation" },
              "hours": 40, "clock": "working",
              "basis": "5 working days: court, arbitration and enforcement matters follow their own procedures; the response is a coordinated position."
            },
            "infrastructure": {
              "names": { "zh": "城市建设(基础设施要素保障)问题工作专班", "en": "infrastructure and production factors" },
              "hours": 24, "clock": "working",
              "basis": "3 working days: missing production factors stop production (measure 12); outright outages have the faster utility_outage kind."
            },
            "financing": {
              "names": { "zh": "企业融资问题工作专班", "en": "enterprise financing" },
              "hours": 24, "clock": "working",
              "basis": "3 working days: cash shortfalls get worse by the day; maturing loans have the faster loan_renewal kind."
            },
            "innovation": {
              "names": { "zh": "科技创新问题工作专班", "en": "science and technology innovation" },
              "hours": 40, "clock": "working",
              "basis": "5 working days: subsidies, certifications and patents rarely stop production and need expert review."
            },
            "foreign": {
              "names": { "zh": "外企服务问题工作专班", "en": "foreign-enterprise services" },
              "hours": 40, "clock": "working",
              "basis": "5 working days: customs, foreign exchange and registration involve central agencies; permits for staff have the faster work_permit kind."
            },
            "triage": {
              "names": { "zh": "人工分拨", "en": "triage (manual routing)" },
              "hours": 8, "clock": "working",
              "basis": "1 working day: triage only routes the case, and every hour it waits is taken from the responding task force."
            }
          },
          "kinds": [
            {
              "key": "business_scope_change",
              "names": { "zh": "经营范围变更", "en": "business scope change" },
              "hours": 3, "clock": "calendar",
              "basis": "Source policy, measure 1 (green channel): business scope change approvals within 3 hours, outside working hours too.",
              "keywords": {
                "zh": ["经营范围", "变更经营范围", "经营范围变更", "增加经营项目"],
                "en": ["business scope", "scope of business", "scope change"]
              }
            },
            {
              "key": "business_licence",
              "names": { "zh": "经营许可审批", "en": "business licence approval" },
              "hours": 48, "clock": "calendar",
              "basis": "Source policy, measure 1 (green channel): business licence approvals within 48 hours, outside working hours too.",
              "keywords": {
                "zh": ["经营许可", "许可审批", "许可证审批", "办理许可证", "营业执照"],
                "en": ["business licence", "business license", "operating licence", "operating license", "operating permit", "licence approval", "license approval"]
              }
            },
            {
              "key": "utility_outage",
              "names": { "zh": "水电气热讯中断", "en": "utility outage" },
              "hours": 24, "clock": "calendar",
              "basis": "Measure 12 (water, power, gas, heating and telecom supply): an outage stops production now, so the clock runs day and night.",
              "keywords": {
                "zh": ["停电", "断电", "停水", "断水", "停气", "燃气中断", "停暖", "断网", "供电中断", "供水中断", "供暖中断"],
                "en": ["power outage", "power cut", "blackout", "no electricity", "water outage", "water cut", "no water supply", "gas outage", "heating outage", "internet outage"]
              }
            },
            {
              "key": "government_arrears",
              "names": { "zh": "政府拖欠账款", "en": "government arrears" },
              "hours": 120, "clock": "working",
              "basis": "15 working days: measure 10 asks for repayment plans and payment on schedule; the response is a verified amount and a dated payment plan, which needs the paying unit's finance records.",
              "keywords": {
                "zh": ["拖欠", "欠款", "工程款", "欠账", "尚未支付"],
                "en": ["arrears", "unpaid", "owes us", "owed us", "overdue payment", "payment overdue", "not been paid"]
              }
            },
            {
              "key": "work_permit",
              "names": { "zh": "外国人工作许可与签证", "en": "work permit and visa" },
              "hours": 24, "clock": "working",
              "basis": "3 working days: staffing is a listed resumption need (measure 15); the task force coordinates with the foreign-expert and exit-entry authorities, using accept-with-gaps (measure 4).",
              "keywords": {
                "zh": ["外国人工作许可", "工作许可", "工作签证", "来华工作", "居留许可"],
                "en": ["work permit", "work visa", "residence permit", "z visa"]
              }
            },
            {
              "key": "loan_renewal",
              "names": { "zh": "续贷与转贷", "en": "loan renewal" },
              "hours": 16, "clock": "working",
              "basis": "2 working days: a maturing loan has a fixed date and a late answer means default; financing support is a listed need (measure 15).",
              "keywords": {
                "zh": ["续贷", "贷款到期", "贷款展期", "过桥资金", "转贷", "抽贷", "断贷"],
                "en": ["loan renewal", "renew the loan", "renew our loan", "loan extension", "extend the loan", "loan maturity", "loan matures", "bridging loan", "bridge loan"]
              }
            }
          ],
          "escalationLevels": [
            { "level": 1, "name": "department", "hours": 24, "clock": "working" },
            { "level": 2, "name": "task_force", "hours": 48, "clock": "working" }
          ]
        }

        """#
}
