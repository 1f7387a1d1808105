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
