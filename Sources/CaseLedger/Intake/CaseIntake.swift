import Foundation
import PostgresClient
import QueueCore
import TaskForces

/// A case ready to store: validated, routed, given its deadline.
package struct PreparedCase: Sendable {
    package let input: CaseInput
    package let normalizedText: String
    package let language: TextScript
    package let decision: RoutingDecision?
    package let taskForce: TaskForce
    package let confidence: Double
    package let kind: String?
    package let deadline: CaseDeadline
    package let receivedAt: Date
    /// What the content key hashes (``CaseIntake/contentKeySource(of:)``), for an imported
    /// row without an external id; nil otherwise.
    package let contentKeySource: String?
    /// The payloads of its intake events and its routing terms as stored (JSON), made here
    /// rather than in ``CaseIntake/store(_:on:)`` so that a batch's JSON is written on all
    /// cores with the rest of the preparation, not one case after another in the transaction.
    let receivedJSON: String
    let classifiedJSON: String
    let deadlineSetJSON: String
    let termsJSON: String

    /// The key that makes taking this case in idempotent: its external id, else its
    /// content key; nil for a case taken in one by one without an external id.
    var intakeKey: String? {
        if let externalID = input.externalID { return "x:" + externalID }
        return contentKeySource.map { "c:" + $0 }
    }
}

/// Takes problems in: validates, routes (explainably), sets deadlines, links repeated
/// demands, and stores each case with its ledger events and its job — all in the
/// caller's transaction, so a case is never queued without its record or recorded
/// without its job.
package final class CaseIntake: Sendable {
    /// Intake settings.
    package struct Settings: Sendable {
        /// A demand from the same enterprise within this window, with near-identical
        /// text, is linked to the open case instead of creating a second job.
        package var duplicateWindow: TimeInterval = 7 * 24 * 3600
        /// Similarity (character-bigram Jaccard, 0…1) at which texts count as the same demand.
        package var duplicateSimilarity = 0.8
        /// Who is recorded in the ledger as having done the intake.
        package var actor = "dispatcher"
        package init() {}
    }

    package let classifier: RoutingClassifier
    package let policy: TimeLimitPolicy
    package let calendar: WorkCalendar
    package let settings: Settings

    /// - Parameters:
    ///   - classifier: routes texts.
    ///   - policy: time limits per task force and kind.
    ///   - calendar: working hours, weekends, holidays.
    ///   - settings: duplicate window, actor.
    package init(classifier: RoutingClassifier, policy: TimeLimitPolicy, calendar: WorkCalendar, settings: Settings = Settings()) {
        self.classifier = classifier
        self.policy = policy
        self.calendar = calendar
        self.settings = settings
    }

    /// Validates and routes one input without touching the database.
    /// - Throws: ``CaseError`` (or the classifier's ``TaskForcesError`` for the text) naming the field and what to do.
    /// - Parameters:
    ///   - normalizer: the normaliser to use instead of the classifier's (one per thread when
    ///     preparing on many threads: OpenCC converters are not shared).
    package func prepare(_ input: CaseInput, now: Date = Date(), normalizer: TextNormalizer? = nil) throws -> PreparedCase {
        try RoutingClassifier.validate(input.text)
        // Lengths as PostgreSQL counts them (code points, not grapheme clusters), and no
        // NUL, which PostgreSQL text cannot hold: a row the database would refuse is
        // refused here, alone, instead of failing its whole batch.
        if let externalID = input.externalID {
            if externalID.isEmpty || externalID.unicodeScalars.count > 200 {
                throw CaseError.invalidInput("external_id must be 1…200 characters", field: "external_id")
            }
            if externalID.unicodeScalars.contains("\u{0}") { throw CaseError.invalidInput("external_id contains a NUL character; remove it", field: "external_id") }
        }
        for (name, value) in [("enterprise", input.enterprise), ("contact", input.contact), ("kind", input.kind)] {
            guard let value else { continue }
            if value.unicodeScalars.count > 500 { throw CaseError.invalidInput("\(name) is longer than 500 characters", field: name) }
            if value.unicodeScalars.contains("\u{0}") { throw CaseError.invalidInput("\(name) contains a NUL character; remove it", field: name) }
        }
        if let kind = input.kind, !policy.kindKeys.contains(kind) {
            throw CaseError.invalidInput("unknown kind \"\(kind)\"; use one of: \(policy.kindKeys.joined(separator: ", "))")
        }
        let normalizer = normalizer ?? classifier.textNormalizer
        let normalized = normalizer.normalize(input.text)
        let receivedAt = input.receivedAt ?? now
        let decision: RoutingDecision? = input.taskForce == nil ? classifier.classify(normalized: normalized, cohandling: false) : nil
        let taskForce = input.taskForce ?? decision!.taskForce
        let kind = input.kind ?? policy.detectKind(inNormalizedText: normalized)
        let deadline = try policy.deadline(
            taskForce: taskForce.rawValue, kind: taskForce == .triage ? nil : kind, urgent: input.urgent,
            escalationLevel: 0, receivedAt: receivedAt, calendar: calendar)
        let language = normalizer.script(of: input.text)
        let received = LedgerEvent.received(channel: input.channel, externalID: input.externalID,
                                            enterprise: input.enterprise, language: language.rawValue)
        let classified: LedgerEvent = decision.map {
            .classified(taskForce: $0.taskForce, predicted: $0.predicted, confidence: Self.rounded($0.confidence),
                        terms: $0.terms, triageReason: $0.triageReason)
        } ?? .classifiedManually(taskForce: taskForce)
        let deadlineSet = LedgerEvent.deadlineSet(dueAt: deadline.dueAt, warnAt: deadline.warnAt, rule: deadline.rule,
                                                  kind: kind, urgent: input.urgent)
        return PreparedCase(
            input: input, normalizedText: normalized, language: language, decision: decision,
            taskForce: taskForce, confidence: decision?.confidence ?? 1, kind: kind, deadline: deadline, receivedAt: receivedAt,
            contentKeySource: input.externalID == nil && input.keyedByContent ? Self.contentKeySource(of: input) : nil,
            receivedJSON: Self.fastJSON(received), classifiedJSON: Self.fastJSON(classified), deadlineSetJSON: Self.fastJSON(deadlineSet),
            termsJSON: decision.flatMap { IntakeJSON.terms($0.terms) } ?? Self.termsJSON(decision))
    }

    /// What an imported row's content key is the SHA-256 of (computed by the database
    /// on insert): version tag, enterprise, text and received time (when the row gives
    /// one), each NFKC-normalised with runs of whitespace as one space, trimmed, on lines
    /// of their own. Two rows that differ only in spacing or full-width forms are the
    /// same row; a row without a received time is the same case however often it is
    /// imported — give `received_at` or `external_id` to import a repeat on purpose.
    package static func contentKeySource(of input: CaseInput) -> String {
        func clean(_ text: String?) -> String {
            guard let text else { return "" }
            return text.precomposedStringWithCompatibilityMapping
                .split(whereSeparator: { $0.isWhitespace || $0.unicodeScalars.allSatisfy { $0.properties.generalCategory == .control } })
                .joined(separator: " ")
        }
        let received = input.receivedAt.map { String(Int64(($0.timeIntervalSince1970 * 1000).rounded())) } ?? ""
        return ["content-key-v1", clean(input.enterprise), clean(input.text), received].joined(separator: "\n")
    }

    /// Stores prepared cases on `connection` (wrap the call in a transaction to make the
    /// batch atomic). Outcomes are in input order.
    package func store(_ cases: [PreparedCase], on connection: PostgresConnection) async throws -> [IntakeOutcome] {
        guard !cases.isEmpty else { return [] }
        var outcomes = [IntakeOutcome?](repeating: nil, count: cases.count)

        // 1. Already taken in (same external id, or same content for an imported row).
        var known = try await storedCases(withKeysOf: cases, on: connection)
        var seenKeys: Set<String> = []
        var pending: [Int] = []
        for (index, prepared) in cases.enumerated() {
            if let key = prepared.intakeKey {
                if let (id, taskForce) = known[key] {
                    outcomes[index] = IntakeOutcome(caseID: id, disposition: .duplicateExternalID, taskForce: taskForce,
                                                    confidence: prepared.confidence, terms: [], kind: prepared.kind, dueAt: nil, jobID: nil)
                    continue
                }
                if !seenKeys.insert(key).inserted { continue } // resolved after the first one is stored
            }
            pending.append(index)
        }

        // 2. Repeated demands: same enterprise, near-identical text, an open case in the window.
        let enterprises = Array(Set(pending.compactMap { cases[$0].input.enterprise }))
        var openCases: [String: [(id: Int64, shingles: Set<String>)]] = [:]
        if !enterprises.isEmpty {
            let rows = try await connection.query(CaseQueries.openCasesOfEnterprises, enterprises, Int64(settings.duplicateWindow * 1000))
            for row in rows {
                let text: String = try row.decode("text")
                openCases[try row.decode("enterprise"), default: []].append(
                    (try row.decode("id"), Self.shingles(classifier.textNormalizer.normalize(text))))
            }
        }
        var primaries: [Int] = []
        var duplicates: [(index: Int, ofIndex: Int?, ofCase: Int64?)] = []
        var batchShingles: [String: [(index: Int, shingles: Set<String>)]] = [:]
        // An enterprise with no open case and one row in the batch has nothing to be
        // compared with: its bigrams are not needed (the outcome is the same without them).
        var rowsOfEnterprise: [String: Int] = [:]
        for index in pending { if let enterprise = cases[index].input.enterprise { rowsOfEnterprise[enterprise, default: 0] += 1 } }
        for index in pending {
            let prepared = cases[index]
            guard let enterprise = prepared.input.enterprise, !enterprise.isEmpty else { primaries.append(index); continue }
            if openCases[enterprise] == nil, rowsOfEnterprise[enterprise] == 1 { primaries.append(index); continue }
            let shingles = Self.shingles(prepared.normalizedText)
            if let match = openCases[enterprise]?.first(where: { Self.similarity($0.shingles, shingles) >= settings.duplicateSimilarity }) {
                duplicates.append((index, nil, match.id))
            } else if let match = batchShingles[enterprise]?.first(where: { Self.similarity($0.shingles, shingles) >= settings.duplicateSimilarity }) {
                duplicates.append((index, match.index, nil))
            } else {
                primaries.append(index)
                batchShingles[enterprise, default: []].append((index, shingles))
            }
        }

        // 3. New cases.
        var caseIDs: [Int: Int64] = [:]
        try await insert(primaries.map { (cases[$0], nil) }, indexes: primaries, into: &caseIDs, on: connection)
        let duplicateRows = duplicates.compactMap { duplicate -> (PreparedCase, Int64?)? in
            let original = duplicate.ofCase ?? duplicate.ofIndex.flatMap { caseIDs[$0] }
            return (cases[duplicate.index], original)
        }
        try await insert(duplicateRows, indexes: duplicates.map(\.index), into: &caseIDs, on: connection)

        // 4. Jobs for new routed cases; ledger events for everything.
        var jobCases: [(index: Int, caseID: Int64)] = []
        for index in primaries {
            guard let id = caseIDs[index], cases[index].taskForce != .triage else { continue }
            jobCases.append((index, id))
        }
        let jobs = try await JobQueue.enqueue(jobCases.map { entry in
            let prepared = cases[entry.index]
            return CaseJob(caseID: entry.caseID, level: 0).newJob(queue: prepared.taskForce, urgent: prepared.input.urgent)
        }, on: connection)
        var jobOfCase: [Int64: Int64] = [:]
        for (entry, job) in zip(jobCases, jobs) { jobOfCase[entry.caseID] = job.id }
        if !jobOfCase.isEmpty {
            try await connection.query(CaseQueries.setCurrentJobs, Array(jobOfCase.keys), Array(jobOfCase.values))
        }

        var events = IntakeEvents(actor: settings.actor)
        for index in primaries {
            guard let id = caseIDs[index] else { continue }
            let prepared = cases[index]
            events.add(id, .received, prepared.receivedJSON)
            events.add(id, .classified, prepared.classifiedJSON)
            events.add(id, .deadlineSet, prepared.deadlineSetJSON)
            if let job = jobOfCase[id] {
                events.add(id, .enqueued(job: job, queue: prepared.taskForce.rawValue, level: 0))
            }
            outcomes[index] = IntakeOutcome(
                caseID: id, disposition: .created, taskForce: prepared.taskForce, confidence: prepared.confidence,
                terms: prepared.decision?.terms.map(\.term) ?? [], kind: prepared.kind, dueAt: prepared.deadline.dueAt, jobID: jobOfCase[id])
        }
        var repeatedOriginals: [Int64] = []
        for duplicate in duplicates {
            guard let id = caseIDs[duplicate.index],
                  let original = duplicate.ofCase ?? duplicate.ofIndex.flatMap({ caseIDs[$0] }) else { continue }
            let prepared = cases[duplicate.index]
            events.add(id, .received, prepared.receivedJSON)
            events.add(id, .merged(intoCase: original))
            events.add(original, .repeated(caseID: id, channel: prepared.input.channel, text: prepared.input.text))
            repeatedOriginals.append(original)
            let originalTaskForce = cases.indices.first(where: { caseIDs[$0] == original }).map { cases[$0].taskForce } ?? prepared.taskForce
            outcomes[duplicate.index] = IntakeOutcome(
                caseID: original, disposition: .merged, taskForce: originalTaskForce, confidence: prepared.confidence,
                terms: [], kind: prepared.kind, dueAt: nil, jobID: nil)
        }
        if !repeatedOriginals.isEmpty { try await connection.query(CaseQueries.countRepeats, repeatedOriginals) }
        try await events.write(on: connection)

        // 5. Lost races and in-batch repeats of a key resolve to the stored case.
        let unresolved = cases.indices.filter { outcomes[$0] == nil }
        if !unresolved.isEmpty {
            known = try await storedCases(withKeysOf: unresolved.map { cases[$0] }, on: connection)
            for index in unresolved {
                guard let key = cases[index].intakeKey, let (id, taskForce) = known[key] else {
                    throw CaseError.invalidInput("case with external id \(cases[index].input.externalID ?? "?") could not be stored")
                }
                outcomes[index] = IntakeOutcome(caseID: id, disposition: .duplicateExternalID, taskForce: taskForce,
                                                confidence: cases[index].confidence, terms: [], kind: cases[index].kind, dueAt: nil, jobID: nil)
            }
        }
        return outcomes.map { $0! }
    }

    /// Stored cases with the intake keys of `cases`, by key.
    private func storedCases(withKeysOf cases: [PreparedCase], on connection: PostgresConnection) async throws -> [String: (Int64, TaskForce)] {
        var stored: [String: (Int64, TaskForce)] = [:]
        let externalIDs = cases.compactMap(\.input.externalID)
        if !externalIDs.isEmpty {
            for row in try await connection.query(CaseQueries.existingExternalIDs, externalIDs) {
                stored["x:" + (try row.decode("external_id") as String)] = (try row.decode("id"), try TaskForce(parsing: try row.decode("task_force")))
            }
        }
        let sources = cases.compactMap(\.contentKeySource)
        if !sources.isEmpty {
            for row in try await connection.query(CaseQueries.existingContentKeys, sources) {
                stored["c:" + (try row.decode("source") as String)] = (try row.decode("id"), try TaskForce(parsing: try row.decode("task_force")))
            }
        }
        return stored
    }

    private func insert(_ rows: [(PreparedCase, Int64?)], indexes: [Int], into ids: inout [Int: Int64], on connection: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        let result = try await connection.query(
            CaseQueries.insertCases,
            rows.map(\.0.input.externalID), rows.map(\.0.input.text), rows.map(\.0.input.enterprise), rows.map(\.0.input.contact),
            rows.map(\.0.input.channel.rawValue), rows.map(\.0.language.rawValue), rows.map(\.0.receivedAt),
            rows.map(\.0.taskForce.rawValue), rows.map { Double($0.0.confidence) },
            rows.map { $0.0.decision == nil ? "manual" : "automatic" },
            rows.map { RawJSON($0.0.termsJSON) }, rows.map(\.0.kind), rows.map(\.0.input.urgent),
            rows.map { CaseTransition.intakeState(routedTo: $0.0.taskForce, mergedInto: $0.1).rawValue },
            rows.map { $0.1 != nil ? nil : Optional($0.0.deadline.dueAt) }, rows.map { $0.1 != nil ? nil : Optional($0.0.deadline.warnAt) },
            rows.map { $0.1 != nil ? nil : Optional($0.0.deadline.rule) }, rows.map(\.1), rows.map(\.0.contentKeySource))
        var byKey: [String: Int64] = [:]
        var plain: [Int64] = []
        for row in result {
            let id: Int64 = try row.decode("id")
            if let external = try row.decode("external_id", as: String?.self) {
                byKey["x:" + external] = id
            } else if let source = try row.decode("content_source", as: String?.self) {
                byKey["c:" + source] = id
            } else {
                plain.append(id)
            }
        }
        plain.sort()
        var next = 0
        for (row, index) in zip(rows, indexes) {
            if let key = row.0.intakeKey {
                if let id = byKey[key] { ids[index] = id }
            } else {
                ids[index] = plain[next]
                next += 1
            }
        }
    }

    static func termsJSON(_ decision: RoutingDecision?) -> String {
        guard let decision else { return "[]" }
        return termsJSON(decision.terms)
    }

    static func termsJSON(_ terms: [WeightedTerm]) -> String {
        let terms = terms.map { ["term": $0.term, "weight": $0.weight] as [String: Any] }
        let data = (try? JSONSerialization.data(withJSONObject: terms, options: [.sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// ``LedgerEvent/json`` of an intake event, written by ``IntakeJSON`` (the same bytes).
    static func fastJSON(_ event: LedgerEvent) -> String {
        switch event {
        case let .received(channel, externalID, enterprise, language):
            return IntakeJSON.received(channel: channel, externalID: externalID, enterprise: enterprise, language: language)
        case let .classified(taskForce, predicted, confidence, terms, triageReason):
            return IntakeJSON.classified(taskForce: taskForce, predicted: predicted, confidence: confidence, terms: terms,
                                         triageReason: triageReason) ?? event.json
        case let .classifiedManually(taskForce):
            return IntakeJSON.classifiedManually(taskForce: taskForce)
        case let .deadlineSet(dueAt, warnAt, rule, kind, urgent):
            return IntakeJSON.deadlineSet(dueAt: dueAt, warnAt: warnAt, rule: rule, kind: kind, urgent: urgent)
        case let .enqueued(job, queue, level):
            return IntakeJSON.enqueued(job: job, queue: queue, level: level)
        default:
            return event.json
        }
    }

    /// An intake event's JSON written by ``IntakeJSON`` and by ``LedgerEvent/json`` (tests).
    package static func eventJSONs(_ event: LedgerEvent) -> (fast: String, reference: String) { (fastJSON(event), event.json) }

    /// The routing terms' JSON written by ``IntakeJSON`` and by JSONSerialization (tests).
    package static func termsJSONs(_ terms: [WeightedTerm]) -> (fast: String?, reference: String) {
        (IntakeJSON.terms(terms), termsJSON(terms))
    }

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    /// Character bigrams of a normalised text (spaces removed).
    static func shingles(_ text: String) -> Set<String> {
        let characters = Array(text.filter { !$0.isWhitespace && !$0.isPunctuation })
        guard characters.count > 1 else { return Set(characters.map(String.init)) }
        var set = Set<String>()
        for index in 0..<(characters.count - 1) { set.insert(String(characters[index...index + 1])) }
        return set
    }

    static func similarity(_ a: Set<String>, _ b: Set<String>) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        let union = a.union(b).count
        return union == 0 ? 0 : Double(a.intersection(b).count) / Double(union)
    }
}

/// The ledger events of one intake batch, written in one statement (as ``LedgerBatch``),
/// taking payloads already made as JSON text by ``CaseIntake/prepare(_:now:normalizer:)``.
struct IntakeEvents {
    /// `[[case id, "type", payload], …]` as JSON text (``CaseQueries/insertIntakeEvents``).
    private var json = "["
    private var count = 0
    let actor: String

    init(actor: String) { self.actor = actor }

    mutating func add(_ caseID: Int64, _ type: LedgerEventType, _ payload: String) {
        json += count == 0 ? "[" : ",["
        json += String(caseID)
        json += ","
        IntakeJSON.string(type.rawValue, into: &json)
        json += ","
        json += payload
        json += "]"
        count += 1
    }

    mutating func add(_ caseID: Int64, _ event: LedgerEvent) { add(caseID, event.type, CaseIntake.fastJSON(event)) }

    func write(on connection: PostgresConnection) async throws {
        guard count > 0 else { return }
        try await connection.query(CaseQueries.insertIntakeEvents, actor, json + "]")
    }
}
