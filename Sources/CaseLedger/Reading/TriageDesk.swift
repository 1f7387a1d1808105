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
    /// The task force that should co-handle with the first suggestion, when the
    /// classifier's co-handling heads name one (`RoutingDecision.cohandlingPartner`).
    package var cohandling: TaskForce?
}

package enum TriageDesk {
    /// The oldest `limit` cases waiting in triage, with suggestions.
    package static func entries(limit: Int, classifier: RoutingClassifier, on connection: PostgresConnection) async throws -> [TriageEntry] {
        try await CaseOperations.triageBacklog(limit: limit, on: connection).map { row in
            let advice = advice(for: row.text, classifier: classifier)
            return TriageEntry(id: row.id, receivedAt: row.receivedAt, enterprise: row.enterprise, text: row.text, confidence: row.confidence,
                               suggestions: advice.suggestions, cohandling: advice.cohandling)
        }
    }

    /// The classifier's three most probable task forces for `text` (triage itself
    /// excluded), and the co-handling partner of the first; nothing when the text
    /// cannot be classified.
    package static func advice(for text: String, classifier: RoutingClassifier)
        -> (suggestions: [(taskForce: TaskForce, probability: Double)], cohandling: TaskForce?) {
        guard let decision = try? classifier.classify(text) else { return ([], nil) }
        let suggestions = decision.top(3, excluding: [.triage])
        return (suggestions, suggestions.first.flatMap { decision.cohandlingPartner(of: $0.taskForce) })
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
