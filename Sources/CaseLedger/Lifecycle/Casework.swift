import Foundation
import PostgresClient
import TaskForces

/// What one casework action did, for the CLI (`--json`) and the console.
package struct CaseworkResult: Sendable, Codable, Equatable {
    package var caseID: Int64
    /// The action, e.g. `sign-off`.
    package var action: String
    /// The case's state afterwards.
    package var state: String
    /// One line for a person: what happened and what comes next.
    package var message: String
    package var signoffDueAt: Date?
    package var dueAt: Date?

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", action, state, message
        case signoffDueAt = "signoff_due_at", dueAt = "due_at"
    }
}

/// What one pass of the casework sweep did (run by the maintainer).
package struct CaseworkSweep: Sendable, Equatable {
    package var signoffBreaches = 0
    package var solutionBreaches = 0
    package var resumed = 0
    package var callbacksDue = 0

    package init() {}
}

/// The casework of people (docs/casework.md), each action performed as the caller's own
/// login in a transaction of its own: lock the case (row-level security hides other task
/// forces' cases, so "no case" and "not yours" read the same), ask ``CaseTransition``,
/// write the case and its typed ledger event with the login as the actor.
package struct Casework: Sendable {
    package let policy: TimeLimitPolicy
    package let calendar: WorkCalendar

    package init(policy: TimeLimitPolicy, calendar: WorkCalendar) {
        self.policy = policy
        self.calendar = calendar
    }

    private var lifecycle: CaseLifecycle { CaseLifecycle(policy: policy, calendar: calendar) }

    /// Locks the case, decides, and runs `perform` with the decision, in one transaction.
    private func act(_ caseID: Int64, _ command: CaseworkCommand, on connection: PostgresConnection,
                     perform: @Sendable (CaseSnapshot, CaseworkDecision, inout LedgerBatch, PostgresConnection) async throws -> CaseworkResult)
        async throws -> CaseworkResult {
        do {
            return try await connection.transaction { tx in
                let login: String = try await tx.query(CaseworkQueries.login).firstRow().decode("login")
                guard let snapshot = try await lifecycle.lock(caseID, on: tx) else { throw CaseError.noSuchCase(caseID) }
                let now = Date()
                let decision = try CaseTransition.decide(command, for: snapshot, now: now,
                                                         suspensionBound: policy.suspensionBound(from: now, calendar: calendar),
                                                         maxSuspensions: policy.casework.maxSuspensions)
                var events = LedgerBatch(actor: login)
                let result = try await perform(snapshot, decision, &events, tx)
                try await events.write(on: tx)
                return result
            }
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw CaseError(code: .notPermitted,
                            message: "case \(caseID): your login may not do this (\(error.message)); ask an officer of the case's task force, an operator or a leader",
                            caseID: caseID)
        }
    }

    /// Signs a case off (签收): it is being worked now.
    package func signOff(_ caseID: Int64, on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .signOff, on: connection) { snapshot, decision, events, tx in
            guard case .signOff(let onTime) = decision else { throw CaseError.illegal(caseID, state: snapshot.state, action: "signed off") }
            try await tx.query(CaseworkQueries.signOff, caseID)
            events.add(caseID, .signedOff(onTime: onTime, signoffDueAt: snapshot.casework.signoffDueAt))
            return CaseworkResult(caseID: caseID, action: "sign-off", state: CaseState.working.rawValue,
                                  message: "signed off\(onTime ? "" : " LATE"); answer by the solution deadline",
                                  signoffDueAt: snapshot.casework.signoffDueAt, dueAt: snapshot.casework.dueAt)
        }
    }

    /// Suspends a case being worked (挂起) until `until` at the latest; its solution clock pauses.
    package func suspend(_ caseID: Int64, until: Date, reason: String, on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .suspend(until: until, reason: reason), on: connection) { snapshot, decision, events, tx in
            guard case .suspend(let until) = decision else { throw CaseError.illegal(caseID, state: snapshot.state, action: "suspended") }
            try await tx.query(CaseworkQueries.suspend, caseID, until)
            events.add(caseID, .suspended(until: until, reason: reason))
            return CaseworkResult(caseID: caseID, action: "suspend", state: CaseState.suspended.rawValue,
                                  message: "suspended; the solution clock is paused until resumed, at the latest \(PostgresTimestampText.format(until))",
                                  dueAt: snapshot.casework.dueAt)
        }
    }

    /// Resumes a suspended case; the time it was paused is added to its solution clock.
    package func resume(_ caseID: Int64, on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .resume(automatic: false), on: connection) { snapshot, decision, events, tx in
            guard case .resume = decision else { throw CaseError.illegal(caseID, state: snapshot.state, action: "resumed") }
            let due = try await performResume(snapshot, automatic: false, events: &events, on: tx)
            return CaseworkResult(caseID: caseID, action: "resume", state: CaseState.working.rawValue,
                                  message: "resumed; the paused time was added to the solution clock", dueAt: due)
        }
    }

    private func performResume(_ snapshot: CaseSnapshot, automatic: Bool, events: inout LedgerBatch,
                               on connection: PostgresConnection) async throws -> Date? {
        let now = Date()
        let facts = snapshot.casework
        guard let pausedAt = facts.pausedAt, let dueAt = facts.dueAt else {
            try await connection.query(CaseworkQueries.resume, snapshot.id, 0.0, facts.dueAt, facts.warnAt)
            events.add(snapshot.id, .resumed(automatic: automatic, pausedSeconds: 0, dueAt: facts.dueAt))
            return facts.dueAt
        }
        // Resumed by the sweep at the bound: the pause ends at the bound, not at the sweep.
        let resumedAt = automatic ? min(now, facts.resumeAt ?? now) : now
        let clock = policy.solutionClock(taskForce: snapshot.taskForce.rawValue, level: snapshot.level)
        let resumed = policy.resume(dueAt: dueAt, warnAt: facts.warnAt ?? dueAt, pausedAt: pausedAt, resumedAt: resumedAt,
                                    clock: clock, calendar: calendar)
        try await connection.query(CaseworkQueries.resume, snapshot.id, resumed.pausedSeconds, resumed.dueAt, resumed.warnAt)
        events.add(snapshot.id, .resumed(automatic: automatic, pausedSeconds: resumed.pausedSeconds, dueAt: resumed.dueAt))
        return resumed.dueAt
    }

    /// Returns a misassigned case to triage (退回), with a reason, through `case_return()`.
    package func returnToTriage(_ caseID: Int64, reason: String, on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .returnToTriage(reason: reason), on: connection) { snapshot, _, _, tx in
            let outcome: String = try await tx.query(CaseworkQueries.returnCase, caseID, reason).firstRow().decode("outcome")
            guard outcome == "returned" else { throw CaseError.illegal(caseID, state: snapshot.state, action: "returned") }
            return CaseworkResult(caseID: caseID, action: "return", state: CaseState.triage.rawValue,
                                  message: "returned to triage from \(snapshot.taskForce.rawValue); an operator routes it again")
        }
    }

    /// Asks other task forces for parts of the answer (协办); the case cannot be answered
    /// before they all replied.
    package func requestCohandling(_ caseID: Int64, partners: [TaskForce], question: String,
                                   on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .requestCohandling(partners: partners, question: question), on: connection) { snapshot, decision, events, tx in
            guard case .requestCohandling(let partners) = decision else {
                throw CaseError.illegal(caseID, state: snapshot.state, action: "sent for co-handling")
            }
            try await tx.query(CaseworkQueries.requestCohandling, caseID, partners.map(\.rawValue), snapshot.taskForce.rawValue, question)
            let waiting = try await tx.query(CaseworkQueries.waitingPartners, caseID).map { try $0.decode(0, as: String.self) }
            guard !waiting.isEmpty else {
                throw CaseError.invalidInput("\(partners.map(\.rawValue).joined(separator: ", ")) replied already; nothing to wait for",
                                             caseID: caseID, field: "with")
            }
            try await tx.query(CaseworkQueries.enterCohandling, caseID)
            events.add(caseID, .cohandlingRequested(partners: partners, question: question))
            return CaseworkResult(caseID: caseID, action: "cohandle", state: CaseState.cohandling.rawValue,
                                  message: "waiting for \(waiting.joined(separator: ", ")); the case can be answered when all have replied",
                                  dueAt: snapshot.casework.dueAt)
        }
    }

    /// A partner task force's reply to a co-handling request (through `case_cohandling_reply()`,
    /// which checks the caller is an officer of `partner`). The last reply puts the lead's
    /// case back to `working`.
    package func replyCohandling(_ caseID: Int64, as partner: TaskForce, reply: String,
                                 on connection: PostgresConnection) async throws -> CaseworkResult {
        guard !reply.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CaseError.invalidInput("--text is required and must not be empty", caseID: caseID, field: "text")
        }
        do {
            let outcome: String = try await connection.transaction { tx in
                try await tx.query(CaseworkQueries.replyCohandling, caseID, partner.rawValue, reply).firstRow().decode("outcome")
            }
            let message = switch outcome {
            case "last": "replied; that was the last reply: the lead task force can answer now"
            case "already": "\(partner.rawValue) had replied already; nothing changed"
            default: "replied; the lead still waits for other partners"
            }
            return CaseworkResult(caseID: caseID, action: "cohandle-reply", state: outcome == "last" ? "working" : "cohandling",
                                  message: message)
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw CaseError(code: .noSuchCase, message: "case \(caseID) has no co-handling request for \(partner.rawValue) that you may answer",
                            caseID: caseID)
        }
    }

    /// Answers the enterprise (答复), in its language; schedules the callback.
    /// - Parameters:
    ///   - drafted: whether the text started from the advisor's draft.
    package func answer(_ caseID: Int64, text: String, drafted: Bool, on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .answer(text: text), on: connection) { snapshot, decision, events, tx in
            guard case let .answer(onTime, round) = decision else { throw CaseError.illegal(caseID, state: snapshot.state, action: "answered") }
            let callback = policy.callbackDue(after: Date(), calendar: calendar)
            try await tx.query(CaseworkQueries.insertAnswer, caseID, round, text, snapshot.casework.language, drafted, onTime)
            try await tx.query(CaseworkQueries.markAnswered, caseID, callback)
            events.add(caseID, .answerSent(round: round, onTime: onTime, drafted: drafted, language: snapshot.casework.language))
            return CaseworkResult(caseID: caseID, action: "answer", state: CaseState.answered.rawValue,
                                  message: "answered\(onTime ? "" : " LATE"); the callback falls due \(PostgresTimestampText.format(callback))",
                                  dueAt: snapshot.casework.dueAt)
        }
    }

    /// Records the callback (回访): satisfied or basically satisfied closes the case;
    /// unsatisfied reopens it as a redo with new clocks at the same task force and level.
    package func recordCallback(_ caseID: Int64, satisfaction: Satisfaction, note: String?,
                                on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .recordCallback(satisfaction), on: connection) { snapshot, decision, events, tx in
            let round = snapshot.casework.redoCount
            guard try await tx.query(CaseworkQueries.recordCallback, caseID, round, satisfaction.rawValue, note).first != nil else {
                throw CaseError.illegal(caseID, state: snapshot.state, action: "called back (round \(round) has no answer waiting for its callback)")
            }
            events.add(caseID, .callbackRecorded(round: round, satisfaction: satisfaction, note: note))
            switch decision {
            case .close(let satisfaction):
                try await tx.query(CaseworkQueries.closeCase, caseID)
                events.add(caseID, .closed(satisfaction: satisfaction))
                return CaseworkResult(caseID: caseID, action: "callback", state: CaseState.closed.rawValue,
                                      message: "callback recorded (\(satisfaction.rawValue)); the case is closed")
            case .redo(let next):
                let clocks = try peopleClocks(snapshot, from: Date())
                try await tx.query(CaseworkQueries.redo, caseID, next, clocks.signOff.dueAt, clocks.solution.dueAt,
                                   clocks.solution.warnAt, clocks.solution.rule)
                events.add(caseID, .redo(round: next, signoffDueAt: clocks.signOff.dueAt, dueAt: clocks.solution.dueAt,
                                         rule: clocks.solution.rule))
                return CaseworkResult(caseID: caseID, action: "callback", state: CaseState.redo.rawValue,
                                      message: "callback recorded (unsatisfied); reopened as redo round \(next) at \(snapshot.taskForce.rawValue)",
                                      signoffDueAt: clocks.signOff.dueAt, dueAt: clocks.solution.dueAt)
            default:
                throw CaseError.illegal(caseID, state: snapshot.state, action: "called back")
            }
        }
    }

    /// A leader supervises (督办) a case: counted, in the ledger.
    package func supervise(_ caseID: Int64, note: String, on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .supervise(note: note), on: connection) { snapshot, _, events, tx in
            let count: Int = try await tx.query(CaseworkQueries.supervise, caseID).firstRow().decode(0)
            events.add(caseID, .supervised(note: note, clock: nil, dueAt: nil, automatic: false))
            return CaseworkResult(caseID: caseID, action: "supervise", state: snapshot.state.rawValue,
                                  message: "supervised (\(count) time\(count == 1 ? "" : "s") so far)", dueAt: snapshot.casework.dueAt)
        }
    }

    /// A leader chases (催办) a case: counted, in the ledger.
    package func chase(_ caseID: Int64, note: String, on connection: PostgresConnection) async throws -> CaseworkResult {
        try await act(caseID, .chase(note: note), on: connection) { snapshot, _, events, tx in
            let count: Int = try await tx.query(CaseworkQueries.chase, caseID).firstRow().decode(0)
            events.add(caseID, .chased(note: note, count: count))
            return CaseworkResult(caseID: caseID, action: "chase", state: snapshot.state.rawValue,
                                  message: "chased (\(count) time\(count == 1 ? "" : "s") so far)\(count >= 2 ? "; chased twice and still open: consider a circular" : "")",
                                  dueAt: snapshot.casework.dueAt)
        }
    }

    // MARK: The sweep (the maintainer)

    /// One pass over the people's clocks: every breach of a sign-off or solution clock
    /// raises supervision exactly once (at every level, the top included); suspensions
    /// that reached their bound resume; answered cases fall due for their callback. Safe
    /// to run concurrently (SKIP LOCKED, markers); four short transactions.
    package func sweep(batch: Int, actor: String = "casework-sweep", on connection: PostgresConnection) async throws -> CaseworkSweep {
        var report = CaseworkSweep()
        report.signoffBreaches = try await connection.transaction { tx in
            var events = LedgerBatch(actor: actor)
            let rows = try await tx.query(CaseworkQueries.superviseSignoffBreaches, batch)
            for row in rows {
                let id: Int64 = try row.decode("id")
                let due: Date = try row.decode("signoff_due_at")
                events.add(id, .deadlineBreached(level: try row.decode("escalation_level"), dueAt: due))
                events.add(id, .supervised(note: "not signed off by its sign-off deadline", clock: "sign-off", dueAt: due, automatic: true))
            }
            try await events.write(on: tx)
            return rows.count
        }
        report.solutionBreaches = try await connection.transaction { tx in
            var events = LedgerBatch(actor: actor)
            let rows = try await tx.query(CaseworkQueries.superviseSolutionBreaches, batch)
            for row in rows {
                let id: Int64 = try row.decode("id")
                let due: Date = try row.decode("due_at")
                events.add(id, .deadlineBreached(level: try row.decode("escalation_level"), dueAt: due))
                events.add(id, .supervised(note: "not answered by its solution deadline", clock: "solution", dueAt: due, automatic: true))
            }
            try await events.write(on: tx)
            return rows.count
        }
        report.resumed = try await connection.transaction { tx in
            var events = LedgerBatch(actor: actor)
            let due = try await tx.query(CaseworkQueries.dueResumptions, batch).map { try $0.decode(0, as: Int64.self) }
            var resumed = 0
            for caseID in due {
                guard let snapshot = try await lifecycle.lock(caseID, on: tx),
                      case .resume = try CaseTransition.decide(.resume(automatic: true), for: snapshot, now: Date(),
                                                               suspensionBound: .distantFuture, maxSuspensions: 0)
                else { continue }
                _ = try await performResume(snapshot, automatic: true, events: &events, on: tx)
                resumed += 1
            }
            try await events.write(on: tx)
            return resumed
        }
        report.callbacksDue = try await connection.transaction { tx in
            var events = LedgerBatch(actor: actor)
            let rows = try await tx.query(CaseworkQueries.callbacksFallingDue, batch)
            for row in rows {
                events.add(try row.decode("id"), .callbackFallsDue(dueAt: try row.decode("callback_due_at")))
            }
            try await events.write(on: tx)
            return rows.count
        }
        return report
    }

    // MARK: Clocks

    /// Both clocks of a case that reaches people at its level from `start`.
    func peopleClocks(_ snapshot: CaseSnapshot, level: Int? = nil, from start: Date) throws -> (signOff: CaseDeadline, solution: CaseDeadline) {
        let kind = snapshot.kind.flatMap { policy.kindKeys.contains($0) ? $0 : nil }
        let level = level ?? snapshot.level
        let signOff = policy.signOffDeadline(taskForce: snapshot.taskForce.rawValue, kind: kind, urgent: snapshot.urgent,
                                             from: start, calendar: calendar)
        let solution = try policy.deadline(taskForce: snapshot.taskForce.rawValue, kind: nil, urgent: snapshot.urgent,
                                           escalationLevel: max(level, 1), receivedAt: start, calendar: calendar)
        return (signOff, solution)
    }
}
