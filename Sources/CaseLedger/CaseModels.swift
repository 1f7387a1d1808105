import Foundation
import TaskForces

/// How a problem reached the city.
package enum CaseChannel: String, Sendable, CaseIterable, Codable {
    case hotline, app
    case cadreVisit = "cadre_visit"
    case chamberOfCommerce = "chamber_of_commerce"
    case complaint
    case `import`

    /// Parses a channel name (case-insensitive; `-` and spaces read as `_`).
    /// - Throws: ``CaseError`` (`invalidInput`, field `channel`) listing the valid channels.
    package init(parsing text: String) throws {
        let key = text.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
        guard let value = CaseChannel(rawValue: key) else {
            throw CaseError.invalidInput("unknown channel \"\(text)\"; use one of: \(CaseChannel.allCases.map(\.rawValue).joined(separator: ", "))", field: "channel")
        }
        self = value
    }
}

/// A problem to take in.
package struct CaseInput: Sendable, Equatable {
    package var text: String
    package var enterprise: String?
    package var contact: String?
    package var channel: CaseChannel
    /// The sender's own id; re-submitting the same id creates nothing new.
    package var externalID: String?
    /// The kind of matter (e.g. `business_licence`); detected from the text when nil.
    package var kind: String?
    /// Routed by an operator instead of the classifier.
    package var taskForce: TaskForce?
    package var urgent: Bool
    package var receivedAt: Date?
    /// Set by the importer: without an external id, the case is keyed by its content
    /// (``CaseIntake/contentKeySource(of:)``), so importing it again creates nothing new.
    package var keyedByContent = false

    package init(
        text: String, enterprise: String? = nil, contact: String? = nil, channel: CaseChannel = .hotline,
        externalID: String? = nil, kind: String? = nil, taskForce: TaskForce? = nil, urgent: Bool = false,
        receivedAt: Date? = nil
    ) {
        self.text = text
        self.enterprise = enterprise
        self.contact = contact
        self.channel = channel
        self.externalID = externalID
        self.kind = kind
        self.taskForce = taskForce
        self.urgent = urgent
        self.receivedAt = receivedAt
    }
}

/// What intake did with one input.
package struct IntakeOutcome: Sendable, Equatable {
    package enum Disposition: String, Sendable, Codable {
        /// A new case, queued for its task force (or waiting in triage).
        case created
        /// A repeated demand: linked to the open case `caseID`, no new job.
        case merged
        /// Already taken in earlier (same external id): nothing new.
        case duplicateExternalID = "already_imported"
    }

    package let caseID: Int64
    package let disposition: Disposition
    package let taskForce: TaskForce
    package let confidence: Double
    package let terms: [String]
    package let kind: String?
    package let dueAt: Date?
    package let jobID: Int64?
}
