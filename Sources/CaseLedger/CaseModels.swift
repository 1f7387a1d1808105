import Foundation
import TaskForces

/// How a problem reached the city.
public enum CaseChannel: String, Sendable, CaseIterable, Codable {
    case hotline, app
    case cadreVisit = "cadre_visit"
    case chamberOfCommerce = "chamber_of_commerce"
    case complaint
    case `import`

    /// Parses a channel name (case-insensitive; `-` and spaces read as `_`).
    /// - Throws: ``CaseError`` (`invalidInput`, field `channel`) listing the valid channels.
    public init(parsing text: String) throws {
        let key = text.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
        guard let value = CaseChannel(rawValue: key) else {
            throw CaseError.invalidInput("unknown channel \"\(text)\"; use one of: \(CaseChannel.allCases.map(\.rawValue).joined(separator: ", "))", field: "channel")
        }
        self = value
    }
}

/// A problem to take in.
public struct CaseInput: Sendable, Equatable {
    public var text: String
    public var enterprise: String?
    public var contact: String?
    public var channel: CaseChannel
    /// The sender's own id; re-submitting the same id creates nothing new.
    public var externalID: String?
    /// The kind of matter (e.g. `business_licence`); detected from the text when nil.
    public var kind: String?
    /// Routed by an operator instead of the classifier.
    public var taskForce: TaskForce?
    public var urgent: Bool
    public var receivedAt: Date?
    /// Set by the importer: without an external id, the case is keyed by its content
    /// (``CaseIntake/contentKeySource(of:)``), so importing it again creates nothing new.
    public var keyedByContent = false

    public init(
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
public struct IntakeOutcome: Sendable, Equatable {
    public enum Disposition: String, Sendable, Codable {
        /// A new case, queued for its task force (or waiting in triage).
        case created
        /// A repeated demand: linked to the open case `caseID`, no new job.
        case merged
        /// Already taken in earlier (same external id): nothing new.
        case duplicateExternalID = "already_imported"
    }

    public let caseID: Int64
    public let disposition: Disposition
    public let taskForce: TaskForce
    public let confidence: Double
    public let terms: [String]
    public let kind: String?
    public let dueAt: Date?
    public let jobID: Int64?
}
