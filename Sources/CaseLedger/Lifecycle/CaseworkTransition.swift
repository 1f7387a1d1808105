import Foundation
import TaskForces

/// The casework side of a case as a transition sees it (columns of migration 0014).
package struct CaseworkFacts: Sendable, Equatable {
    /// The enterprise's language (`zh-Hans`, `zh-Hant`, `en`): the answer is in it.
    package var language = "zh-Hans"
    package var signoffDueAt: Date?
    /// The solution deadline (办结时限).
    package var dueAt: Date?
    package var warnAt: Date?
    package var pausedAt: Date?
    package var resumeAt: Date?
    package var pausedSeconds: Double = 0
    package var suspendCount = 0
    package var redoCount = 0

    package init(language: String = "zh-Hans", signoffDueAt: Date? = nil, dueAt: Date? = nil, warnAt: Date? = nil,
                 pausedAt: Date? = nil, resumeAt: Date? = nil, pausedSeconds: Double = 0, suspendCount: Int = 0, redoCount: Int = 0) {
        self.language = language
        self.signoffDueAt = signoffDueAt
        self.dueAt = dueAt
        self.warnAt = warnAt
        self.pausedAt = pausedAt
        self.resumeAt = resumeAt
        self.pausedSeconds = pausedSeconds
        self.suspendCount = suspendCount
        self.redoCount = redoCount
    }
}

/// What the enterprise said at the callback (回访).
package enum Satisfaction: String, Sendable, CaseIterable, Codable {
    case satisfied
    case basicallySatisfied = "basically_satisfied"
    case unsatisfied

    /// Parses the CLI's and the files' spelling (`basically` is accepted for `basically_satisfied`).
    package init(parsing text: String) throws(CaseError) {
        let key = text.lowercased().replacingOccurrences(of: "-", with: "_")
        if key == "basically" { self = .basicallySatisfied; return }
        guard let value = Satisfaction(rawValue: key) else {
            throw .invalidInput("\"\(text)\" is not a satisfaction; use satisfied, basically_satisfied or unsatisfied", field: "satisfaction")
        }
        self = value
    }
}

/// What a person asks of a case held for people, or what a sweep finds due.
package enum CaseworkCommand: Sendable, Equatable {
    /// An officer takes the case (签收).
    case signOff
    /// An officer waits on the enterprise until `until` at the latest (挂起).
    case suspend(until: Date, reason: String)
    /// An officer resumes the work (or the sweep does, at the bound: `automatic`).
    case resume(automatic: Bool)
    /// An officer sends a misassigned case back to triage (退回).
    case returnToTriage(reason: String)
    /// The lead asks other task forces for parts of the answer (协办).
    case requestCohandling(partners: [TaskForce], question: String)
    /// An officer answers the enterprise (答复).
    case answer(text: String)
    /// The sweep: the callback of an answered case falls due.
    case callbackFallsDue
    /// An operator records the callback (回访).
    case recordCallback(Satisfaction)
    /// A leader supervises (督办) or chases (催办) the case.
    case supervise(note: String)
    case chase(note: String)
}

/// What a casework command does, decided without touching the database.
package enum CaseworkDecision: Sendable, Equatable {
    /// Nothing to do: a sweep found the case moved on.
    case stale
    case signOff(onTime: Bool)
    case suspend(until: Date)
    case resume
    case returnToTriage
    case requestCohandling(partners: [TaskForce])
    case answer(onTime: Bool, round: Int)
    case callbackDue
    /// Satisfied or basically satisfied: the case closes.
    case close(Satisfaction)
    /// Unsatisfied: a new round (`round`) at the same task force and level, new clocks.
    case redo(round: Int)
    case supervise
    case chase
}

extension CaseTransition {
    /// The rules of casework: (case, command, now) → decision, or a refusal that names the
    /// case, its state and what cannot be done (docs/casework.md has the table).
    /// - Parameters:
    ///   - suspensionBound: the latest a suspension starting `now` may last until (policy).
    ///   - maxSuspensions: how often one round may be suspended (policy).
    package static func decide(_ command: CaseworkCommand, for snapshot: CaseSnapshot, now: Date,
                               suspensionBound: Date, maxSuspensions: Int) throws(CaseError) -> CaseworkDecision {
        let id = snapshot.id
        let state = snapshot.state
        func require(_ allowed: Set<CaseState>, _ action: String) throws(CaseError) {
            guard allowed.contains(state) else { throw .illegal(id, state: state, action: action) }
        }
        func text(_ value: String, _ field: String, max: Int) throws(CaseError) {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw .invalidInput("--\(field) is required and must not be empty", caseID: id, field: field) }
            guard value.count <= max else {
                throw .invalidInput("--\(field) has \(value.count) characters; at most \(max)", caseID: id, field: field)
            }
        }
        switch command {
        case .signOff:
            try require([.signoff, .redo], "signed off (only a case waiting for sign-off is)")
            return .signOff(onTime: snapshot.casework.signoffDueAt.map { now <= $0 } ?? true)

        case let .suspend(until, reason):
            try require([.working], "suspended (sign it off first; only a case being worked is suspended)")
            try text(reason, "reason", max: 2000)
            guard until > now else {
                throw .invalidInput("--until must be in the future", caseID: id, field: "until")
            }
            guard until <= suspensionBound else {
                throw .invalidInput("--until is past the longest suspension the policy allows (\(PostgresTimestampText.format(suspensionBound)))",
                                    caseID: id, field: "until")
            }
            guard snapshot.casework.suspendCount < maxSuspensions else {
                throw .invalidInput("case \(id) was suspended \(snapshot.casework.suspendCount) times already; the policy allows \(maxSuspensions)",
                                    caseID: id, field: "until")
            }
            return .suspend(until: until)

        case .resume(let automatic):
            guard state == .suspended else {
                if automatic { return .stale }
                throw .illegal(id, state: state, action: "resumed (it is not suspended)")
            }
            if automatic, let resumeAt = snapshot.casework.resumeAt, resumeAt > now { return .stale }
            return .resume

        case .returnToTriage(let reason):
            try require([.signoff, .working, .redo], "returned (only a case waiting for sign-off or being worked is)")
            try text(reason, "reason", max: 2000)
            return .returnToTriage

        case let .requestCohandling(partners, question):
            try require([.working], "sent for co-handling (sign it off first)")
            try text(question, "question", max: 4000)
            guard !partners.isEmpty else { throw .invalidInput("--with names no task force", caseID: id, field: "with") }
            for partner in partners where partner == .triage || partner == snapshot.taskForce {
                throw .invalidInput("\(partner.rawValue) cannot co-handle a \(snapshot.taskForce.rawValue) case; name other task forces",
                                    caseID: id, field: "with")
            }
            guard Set(partners).count == partners.count else {
                throw .invalidInput("--with names a task force twice", caseID: id, field: "with")
            }
            return .requestCohandling(partners: partners)

        case .answer(let answer):
            if state == .cohandling {
                throw CaseError(code: .illegalTransition,
                                message: "case \(id) is cohandling: it waits for its co-handling partners' replies and can be answered when all have replied",
                                caseID: id)
            }
            try require([.working], "answered (sign it off first; a suspended case is resumed first)")
            try text(answer, "text", max: 8000)
            return .answer(onTime: snapshot.casework.dueAt.map { now <= $0 } ?? true, round: snapshot.casework.redoCount)

        case .callbackFallsDue:
            return state == .answered ? .callbackDue : .stale

        case .recordCallback(let satisfaction):
            try require([.answered, .callbackDue], "called back (only an answered case is)")
            return satisfaction == .unsatisfied ? .redo(round: snapshot.casework.redoCount + 1) : .close(satisfaction)

        case .supervise(let note):
            try require([.open, .signoff, .working, .suspended, .cohandling, .redo], "supervised (it is not being worked)")
            try text(note, "note", max: 2000)
            return .supervise

        case .chase(let note):
            try require([.open, .signoff, .working, .suspended, .cohandling, .redo], "chased (it is not being worked)")
            try text(note, "note", max: 2000)
            return .chase
        }
    }
}

/// Timestamps in messages (UTC, ISO 8601, seconds).
enum PostgresTimestampText {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
