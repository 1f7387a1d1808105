import Foundation
import PostgresClient
import QueueCore
import TaskForces

/// The types of ledger event (the CHECK of `case_events.type`, migration 0003).
package enum LedgerEventType: String, Sendable, CaseIterable, Codable {
    case received, classified
    case deadlineSet = "deadline_set"
    case enqueued, claimed
    case attemptFailed = "attempt_failed"
    case resolved, rejected, escalated, rerouted, merged, repeated, reopened, assigned, cancelled
    case deadlineWarning = "deadline_warning"
    case deadlineBreached = "deadline_breached"
    case discarded
    // Casework (migration 0014, docs/casework.md).
    case heldForPeople = "held_for_people"
    case signedOff = "signed_off"
    case returned, suspended, resumed
    case cohandlingRequested = "cohandling_requested"
    case cohandlingReplied = "cohandling_replied"
    case answered
    case callbackDue = "callback_due"
    case callbackRecorded = "callback_recorded"
    case closed, redo, supervised, chased
}

/// One event of a case's ledger, with its payload. The payload's JSON keys are the
/// ledger's documented format (docs/dispatcher.md, "The ledger"); the events that the
/// database functions write themselves (`rerouted`, `assigned`, and the `deadline_set` and
/// `enqueued` of a move) are in migrations 0008/0010.
package enum LedgerEvent: Sendable {
    /// A problem was taken in.
    case received(channel: CaseChannel, externalID: String?, enterprise: String?, language: String)
    /// The classifier routed it (`predicted` is what it would have chosen without the
    /// triage threshold), with the terms that weighed most.
    case classified(taskForce: TaskForce, predicted: TaskForce, confidence: Double, terms: [WeightedTerm], triageReason: String?)
    /// An operator routed it at intake.
    case classifiedManually(taskForce: TaskForce)
    case deadlineSet(dueAt: Date, warnAt: Date, rule: String, kind: String?, urgent: Bool)
    case enqueued(job: Int64, queue: String, level: Int)
    /// A worker took the job (written with the job's completion).
    case claimed(job: Int64, attempt: Int, level: Int, at: Date, worker: String)
    case attemptFailed(job: Int64, attempt: Int, maxAttempts: Int, error: String, next: JobState, handlerSeconds: Double?)
    /// A handler answered and the case closed: `resolved` or `rejected`.
    case answered(Answer)
    /// One level up the chain; into a people's level (`job` nil) it is held for people (``heldForPeople`` follows).
    case escalated(fromLevel: Int, toLevel: Int, reason: String, job: Int64?, dueAt: Date?, rule: String?)
    case merged(intoCase: Int64)
    /// The original case of a repeated demand hears of the repeat.
    case repeated(caseID: Int64, channel: CaseChannel, text: String)
    case cancelled(reason: String)
    case deadlineWarning(level: Int, dueAt: Date)
    case deadlineBreached(level: Int, dueAt: Date)
    case discarded(job: Int64, attempts: Int)

    // Casework: each names who did it (the event's actor, the caller's login) and why.
    /// Escalated into a level people own: held for sign-off, with both clocks.
    case heldForPeople(level: Int, signoffDueAt: Date, dueAt: Date, rule: String, reason: String)
    case signedOff(onTime: Bool, signoffDueAt: Date?)
    case suspended(until: Date, reason: String)
    /// `automatic` when the sweep resumed it at the suspension's bound.
    case resumed(automatic: Bool, pausedSeconds: Double, dueAt: Date?)
    case cohandlingRequested(partners: [TaskForce], question: String)
    /// The answer to the enterprise (the text is in `case_answers`).
    case answerSent(round: Int, onTime: Bool, drafted: Bool, language: String)
    case callbackFallsDue(dueAt: Date)
    case callbackRecorded(round: Int, satisfaction: Satisfaction, note: String?)
    case closed(satisfaction: Satisfaction)
    case redo(round: Int, signoffDueAt: Date, dueAt: Date, rule: String)
    /// `clock` is `sign-off` or `solution` when a breach raised it (`automatic`), nil when a leader did.
    case supervised(note: String, clock: String?, dueAt: Date?, automatic: Bool)
    case chased(note: String, count: Int)

    /// A handler's answer that closed the case.
    package struct Answer: Sendable {
        package var rejected: Bool
        package var job: Int64
        package var attempt: Int
        package var handler: String
        package var summary: String
        package var measures: [Int]
        package var responsibleUnit: String?
        package var handlerSeconds: Double
        package var reply: String?
        package var nextStep: String?

        package init(rejected: Bool, job: Int64, attempt: Int, handler: String, summary: String, measures: [Int],
                    responsibleUnit: String?, handlerSeconds: Double, reply: String?, nextStep: String?) {
            self.rejected = rejected
            self.job = job
            self.attempt = attempt
            self.handler = handler
            self.summary = summary
            self.measures = measures
            self.responsibleUnit = responsibleUnit
            self.handlerSeconds = handlerSeconds
            self.reply = reply
            self.nextStep = nextStep
        }
    }

    package var type: LedgerEventType {
        switch self {
        case .received: .received
        case .classified, .classifiedManually: .classified
        case .deadlineSet: .deadlineSet
        case .enqueued: .enqueued
        case .claimed: .claimed
        case .attemptFailed: .attemptFailed
        case .answered(let answer): answer.rejected ? .rejected : .resolved
        case .escalated: .escalated
        case .merged: .merged
        case .repeated: .repeated
        case .cancelled: .cancelled
        case .deadlineWarning: .deadlineWarning
        case .deadlineBreached: .deadlineBreached
        case .discarded: .discarded
        case .heldForPeople: .heldForPeople
        case .signedOff: .signedOff
        case .suspended: .suspended
        case .resumed: .resumed
        case .cohandlingRequested: .cohandlingRequested
        case .answerSent: .answered
        case .callbackFallsDue: .callbackDue
        case .callbackRecorded: .callbackRecorded
        case .closed: .closed
        case .redo: .redo
        case .supervised: .supervised
        case .chased: .chased
        }
    }

    /// The payload as the ledger stores it (`case_events.data`).
    var payload: [String: Any] {
        func time(_ date: Date) -> String { PostgresTimestamp.format(date) }
        func seconds(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        switch self {
        case let .received(channel, externalID, enterprise, language):
            return ["channel": channel.rawValue, "external_id": externalID as Any, "enterprise": enterprise as Any, "language": language]
        case let .classified(taskForce, predicted, confidence, terms, triageReason):
            var data: [String: Any] = [
                "task_force": taskForce.rawValue, "predicted": predicted.rawValue, "confidence": confidence, "source": "automatic",
                "terms": terms.map { ["term": $0.term, "weight": $0.weight] },
            ]
            if let triageReason { data["triage_reason"] = triageReason }
            return data
        case let .classifiedManually(taskForce):
            return ["task_force": taskForce.rawValue, "source": "manual"]
        case let .deadlineSet(dueAt, warnAt, rule, kind, urgent):
            return ["due_at": time(dueAt), "warn_at": time(warnAt), "rule": rule, "kind": kind as Any, "urgent": urgent]
        case let .enqueued(job, queue, level):
            return ["job_id": job, "queue": queue, "level": level]
        case let .claimed(job, attempt, level, at, worker):
            return ["job_id": job, "attempt": attempt, "level": level, "at": time(at), "worker": worker]
        case let .attemptFailed(job, attempt, maxAttempts, error, next, handlerSeconds):
            var data: [String: Any] = ["job_id": job, "attempt": attempt, "max_attempts": maxAttempts,
                                       "error": String(error.prefix(4_000)), "next": next.rawValue]
            if let handlerSeconds { data["handler_seconds"] = seconds(handlerSeconds) }
            return data
        case let .answered(answer):
            return ["job_id": answer.job, "attempt": answer.attempt, "handler": answer.handler, "summary": answer.summary,
                    "measures": answer.measures, "responsible_unit": answer.responsibleUnit as Any,
                    "handler_seconds": seconds(answer.handlerSeconds), "reply": answer.reply as Any, "next_step": answer.nextStep as Any]
        case let .escalated(fromLevel, toLevel, reason, job, dueAt, rule):
            guard let job else {
                return ["from_level": fromLevel, "to_level": toLevel, "people": true, "reason": reason,
                        "due_at": dueAt.map(time) as Any, "rule": rule as Any,
                        "note": "held for the task force's people: they sign it off, work it and answer"]
            }
            return ["from_level": fromLevel, "to_level": toLevel, "reason": reason, "job_id": job,
                    "due_at": dueAt.map(time) as Any, "rule": rule as Any]
        case let .merged(intoCase):
            return ["into_case": intoCase, "reason": "repeated demand from the same enterprise"]
        case let .repeated(caseID, channel, text):
            return ["case_id": caseID, "channel": channel.rawValue, "text": String(text.prefix(500))]
        case let .cancelled(reason):
            return ["reason": reason]
        case let .deadlineWarning(level, dueAt), let .deadlineBreached(level, dueAt):
            return ["level": level, "due_at": time(dueAt)]
        case let .discarded(job, attempts):
            return ["job_id": job, "attempts": attempts]
        case let .heldForPeople(level, signoffDueAt, dueAt, rule, reason):
            return ["level": level, "signoff_due_at": time(signoffDueAt), "due_at": time(dueAt), "rule": rule, "reason": reason]
        case let .signedOff(onTime, signoffDueAt):
            return ["on_time": onTime, "signoff_due_at": signoffDueAt.map(time) as Any]
        case let .suspended(until, reason):
            return ["until": time(until), "reason": reason]
        case let .resumed(automatic, pausedSeconds, dueAt):
            return ["automatic": automatic, "paused_seconds": seconds(pausedSeconds), "due_at": dueAt.map(time) as Any,
                    "reason": automatic ? "the suspension reached its bound" : "resumed by the officer"]
        case let .cohandlingRequested(partners, question):
            return ["partners": partners.map(\.rawValue), "question": question]
        case let .answerSent(round, onTime, drafted, language):
            return ["round": round, "on_time": onTime, "drafted": drafted, "language": language]
        case let .callbackFallsDue(dueAt):
            return ["callback_due_at": time(dueAt)]
        case let .callbackRecorded(round, satisfaction, note):
            return ["round": round, "satisfaction": satisfaction.rawValue, "note": note as Any]
        case let .closed(satisfaction):
            return ["satisfaction": satisfaction.rawValue]
        case let .redo(round, signoffDueAt, dueAt, rule):
            return ["round": round, "signoff_due_at": time(signoffDueAt), "due_at": time(dueAt), "rule": rule,
                    "reason": "the enterprise was unsatisfied at the callback"]
        case let .supervised(note, clock, dueAt, automatic):
            return ["note": note, "clock": clock as Any, "due_at": dueAt.map(time) as Any, "automatic": automatic]
        case let .chased(note, count):
            return ["note": note, "count": count]
        }
    }

    /// The payload as JSON text (keys sorted; nil values as JSON null).
    var json: String {
        var clean: [String: Any] = [:]
        for (key, value) in payload {
            if case Optional<Any>.none = value { clean[key] = NSNull() }
            else if let optional = value as? any OptionalValue { clean[key] = optional.unwrapped ?? NSNull() }
            else { clean[key] = value }
        }
        // The values are strings, numbers, booleans, arrays and objects of them: serialisable by construction.
        let data = (try? JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Lets ``LedgerEvent`` turn `Optional<T>` stored in `Any` into a value or JSON null.
private protocol OptionalValue { var unwrapped: Any? { get } }
extension Optional: OptionalValue {
    fileprivate var unwrapped: Any? { self.map { $0 as Any } }
}

/// Ledger events collected and written in one statement.
package struct LedgerBatch: Sendable {
    private var caseIDs: [Int64] = []
    private var types: [String] = []
    private var actors: [String] = []
    private var data: [RawJSON] = []
    /// Who the writer says it is (a worker's name, an operator); the database records the login beside it.
    package let actor: String

    package init(actor: String) { self.actor = actor }

    package var isEmpty: Bool { caseIDs.isEmpty }
    package var count: Int { caseIDs.count }

    /// Adds an event of case `caseID`.
    package mutating func add(_ caseID: Int64, _ event: LedgerEvent, actor: String? = nil) {
        caseIDs.append(caseID)
        types.append(event.type.rawValue)
        actors.append(actor ?? self.actor)
        data.append(RawJSON(event.json))
    }

    package func write(on connection: PostgresConnection) async throws {
        guard !caseIDs.isEmpty else { return }
        try await connection.query(CaseQueries.insertEvents, caseIDs, types, actors, data)
    }

    /// Writes what was collected so far and empties the batch. Used before a case leaves
    /// the writer's task force: under row-level security a department cannot append to
    /// the ledger of a case that is no longer its own.
    package mutating func flush(on connection: PostgresConnection) async throws {
        try await write(on: connection)
        caseIDs.removeAll()
        types.removeAll()
        actors.removeAll()
        data.removeAll()
    }
}
