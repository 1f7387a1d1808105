import Foundation
import PostgresClient
import TaskForces

/// The triage backlog with the classifier's suggestions, as `dispatcher triage list` and
/// the console's triage desk show it: oldest first, each case with the three most
/// probable task forces (`RoutingDecision.top(3, excluding: [.triage])`), its text
/// classified again with the model the operator runs.
package struct TriageEntry: Sendable {
    package var id: Int64
    package var receivedAt: Date
    package var enterprise: String?
    package var text: String
    /// The confidence recorded at intake (below the threshold, or the case would not be here).
    package var confidence: Double?
    /// The classifier's three best task forces, most probable first (empty when the text cannot be classified).
    package var suggestions: [(taskForce: TaskForce, probability: Double)]
}

package enum TriageDesk {
    /// The oldest `limit` cases waiting in triage, with suggestions.
    package static func entries(limit: Int, classifier: RoutingClassifier, on connection: PostgresConnection) async throws -> [TriageEntry] {
        try await CaseOperations.triageBacklog(limit: limit, on: connection).map { row in
            TriageEntry(id: row.id, receivedAt: row.receivedAt, enterprise: row.enterprise, text: row.text, confidence: row.confidence,
                        suggestions: suggestions(for: row.text, classifier: classifier))
        }
    }

    /// The classifier's three most probable task forces for `text` (triage itself excluded).
    package static func suggestions(for text: String, classifier: RoutingClassifier) -> [(taskForce: TaskForce, probability: Double)] {
        (try? classifier.classify(text).top(3, excluding: [.triage])) ?? []
    }
}

/// The advisor's draft answer to a case, in the enterprise's own language and script:
/// what `dispatcher answer --show-draft` prints and the console pre-fills.
package enum CaseDraft {
    /// The advisor's reply for the case (its summary when it has no reply).
    package static func answer(for record: CaseRecord, advisor: CaseAdvisor) -> String {
        let facts = CaseFacts(caseID: record.id, text: record.text, taskForce: record.taskForce,
                              language: TextScript(rawValue: record.language) ?? .simplified, escalationLevel: 0,
                              repeatCount: record.repeatCount, routingSource: record.routingSource, enterprise: record.enterprise)
        let resolution = advisor.advise(facts)
        return resolution.reply ?? resolution.summary
    }
}
