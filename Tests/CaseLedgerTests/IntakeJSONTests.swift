import Foundation
import CaseLedger
import TaskForces
import Testing

/// Intake writes its ledger events' JSON directly (no JSONSerialization per event); the bytes
/// must be those ``LedgerEvent``'s own JSON gives, so the ledger holds the same events.
@Suite("Intake event JSON")
struct IntakeJSONTests {
    static let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "data")

    /// Strings with every character JSON escapes, slashes, quotes, non-ASCII and emoji.
    static let awkward: [String] = [
        "", "plain", "a/b", "\"quoted\"", "back\\slash", "tab\there", "new\nline\r\n", "\u{8}\u{c}\u{0}\u{1}\u{f}\u{10}\u{1f}\u{7f}",
        "退税/退稅 \"引号\"", "é e\u{301} 👍🏽 \u{2028}\u{2029} \u{FEFF}", String((0..<32).map { Character(Unicode.Scalar($0)!) }),
    ]

    @Test("received, classified, deadline_set and the routing terms: the same bytes as LedgerEvent.json and JSONSerialization")
    func sameBytes() throws {
        var texts: [String] = []
        for split in ["train", "dev", "test"] {
            texts += try RoutingCorpus.load(directory: Self.corpusRoot.appending(path: "routing/\(split)")).examples.map(\.text)
        }
        let classifier = Shared.intake.classifier
        let instants = [Date(timeIntervalSince1970: 1_764_547_200.123), Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_799_999_999.999_5)]
        for (index, text) in texts.enumerated() {
            let decision = try classifier.classify(text)
            let events: [LedgerEvent] = [
                .classified(taskForce: decision.taskForce, predicted: decision.predicted, confidence: (decision.confidence * 1000).rounded() / 1000,
                            terms: decision.terms, triageReason: decision.triageReason),
                .classified(taskForce: decision.taskForce, predicted: decision.predicted, confidence: decision.confidence,
                            terms: decision.terms, triageReason: index % 2 == 0 ? "confidence 0.41 is below the threshold 0.50" : nil),
                .received(channel: CaseChannel.allCases[index % CaseChannel.allCases.count], externalID: index % 3 == 0 ? nil : "x-\(index)",
                          enterprise: index % 5 == 0 ? nil : String(text.prefix(12)), language: "zh-Hans"),
                .deadlineSet(dueAt: instants[index % 3].addingTimeInterval(Double(index) * 0.37), warnAt: instants[(index + 1) % 3],
                             rule: "task force tax: 40 h working" + (index % 4 == 0 ? "; WARNING: calendar has no holidays for 2027 (weekends only)" : ""),
                             kind: index % 2 == 0 ? nil : "business_licence", urgent: index % 3 == 0),
                .classifiedManually(taskForce: TaskForce.allCases[index % TaskForce.allCases.count]),
                .enqueued(job: Int64(index) * 7_919 + 1, queue: TaskForce.allCases[index % TaskForce.allCases.count].rawValue, level: index % 3),
            ]
            for event in events {
                let (fast, reference) = CaseIntake.eventJSONs(event)
                #expect(fast == reference)
            }
            let (fast, reference) = CaseIntake.termsJSONs(decision.terms)
            #expect(fast == reference)
        }
        for text in Self.awkward {
            let terms = try JSONDecoder().decode([WeightedTerm].self, from: try JSONSerialization.data(withJSONObject: [
                ["term": text, "weight": 0.5], ["term": "退税", "weight": 1.0], ["term": "w", "weight": 0.001], ["term": "z", "weight": 12.345],
            ]))
            let events: [LedgerEvent] = [
                .received(channel: .hotline, externalID: text, enterprise: text, language: text),
                .classified(taskForce: .tax, predicted: .triage, confidence: 0, terms: terms, triageReason: text),
                .classified(taskForce: .tax, predicted: .tax, confidence: 1, terms: [], triageReason: nil),
                .deadlineSet(dueAt: Date(), warnAt: Date(), rule: text, kind: text, urgent: true),
                .enqueued(job: Int64.max, queue: text, level: 0),
            ]
            for event in events {
                let (fast, reference) = CaseIntake.eventJSONs(event)
                #expect(fast == reference, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
            }
            let (fast, reference) = CaseIntake.termsJSONs(terms)
            #expect(fast == reference)
        }
    }
}

@Suite("Intake events in the ledger")
struct IntakeLedgerEventTests {
    @Test("a batch's events are stored in order, each equal as jsonb to LedgerEvent's own JSON")
    func storedEventsAreTheReference() async throws {
        let fixture = try await LedgerFixture.make("intake-events")
        defer { Task { await fixture.close() } }
        let texts = ["增值税留抵退税申请两个月了还没到账", "區政府拖欠我們的工程款三百萬元已經兩年了", "Our work permit for a foreign engineer expired",
                     "隔壁邻居装修太吵了", "A/B \"quoted\" path\\name\nnext line"]
        let inputs = texts.enumerated().map { index, text in
            CaseInput(text: text, enterprise: index == 3 ? nil : "enterprise \(index)", contact: nil, channel: .hotline,
                      externalID: index == 1 ? nil : "json-\(index)", kind: nil, taskForce: index == 4 ? .legal : nil, urgent: index == 2, receivedAt: nil)
        }
        let prepared = try inputs.map { try Shared.intake.prepare($0) }
        let outcomes = try await fixture.connection.transaction { try await Shared.intake.store(prepared, on: $0) }
        for (case_, outcome) in zip(prepared, outcomes) {
            var expected: [(String, LedgerEvent)] = [
                ("received", .received(channel: case_.input.channel, externalID: case_.input.externalID, enterprise: case_.input.enterprise, language: case_.language.rawValue)),
                ("classified", case_.decision.map { .classified(taskForce: $0.taskForce, predicted: $0.predicted, confidence: ($0.confidence * 1000).rounded() / 1000,
                                                                 terms: $0.terms, triageReason: $0.triageReason) } ?? .classifiedManually(taskForce: case_.taskForce)),
                ("deadline_set", .deadlineSet(dueAt: case_.deadline.dueAt, warnAt: case_.deadline.warnAt, rule: case_.deadline.rule, kind: case_.kind, urgent: case_.input.urgent)),
            ]
            if let job = outcome.jobID { expected.append(("enqueued", .enqueued(job: job, queue: case_.taskForce.rawValue, level: 0))) }
            let rows = try await fixture.connection.query(
                "SELECT type, data::text AS data FROM case_events WHERE case_id = $1 ORDER BY id", outcome.caseID)
            #expect(rows.count == expected.count)
            for (row, (type, event)) in zip(rows, expected) {
                #expect(try row.decode("type", as: String.self) == type)
                let data: String = try row.decode("data")
                let same = try await fixture.connection.query(
                    "SELECT $1::jsonb = $2::jsonb AND $1::jsonb::text = $2::jsonb::text", data,
                    CaseIntake.eventJSONs(event).reference).firstRow().decode(0, as: Bool.self)
                #expect(same, "\(type): \(data)")
            }
        }
    }
}

@Suite("Import reader fast paths")
struct ImportReaderFastPathTests {
    @Test("fields are trimmed exactly as trimmingCharacters(in: .whitespaces) trims them")
    func trimming() {
        for text in IntakeJSONTests.awkward + [" a ", "\ta", "a\u{3000}", "\u{A0}x\u{A0}", " \u{301}x", "x\u{2003}", "\u{200B}x", "企业 ", "  ", "\n"] {
            #expect(ImportReader.trimmed(text) == text.trimmingCharacters(in: .whitespaces))
            #expect(Array(ImportReader.trimmed(text).utf8) == Array(text.trimmingCharacters(in: .whitespaces).utf8))
        }
    }
}
