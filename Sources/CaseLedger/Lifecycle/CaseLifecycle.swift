import Foundation
import PostgresClient
import QueueCore
import TaskForces

/// The one place that changes a case after intake: escalation, reroutes, triage,
/// cancellation, the answers of handlers, failed attempts, deadline warnings and breaches.
///
/// Each transition locks the case (`LifecycleQueries.lockCase`), asks ``CaseTransition``
/// what the command does, and performs the decision with the statements of
/// `SQL/LifecycleQueries.sql`, in the caller's transaction (operators' actions open their
/// own). New jobs go through QueueCore's enqueue (``JobQueue/enqueue(_:on:)``) or, for
/// moves to another task force, through the definer function `case_redispatch()`, which
/// enqueues through the queue's `queue_enqueue()` (migration 0010).
package struct CaseLifecycle: Sendable {
    package let policy: TimeLimitPolicy
    package let calendar: WorkCalendar

    package init(policy: TimeLimitPolicy, calendar: WorkCalendar) {
        self.policy = policy
        self.calendar = calendar
    }

    /// Locks a case for a transition; nil when there is none (or the caller cannot see it).
    func lock(_ caseID: Int64, on connection: PostgresConnection) async throws -> CaseSnapshot? {
        try await connection.query(LifecycleQueries.lockCase, caseID).first.map(CaseSnapshot.init(row:))
    }

    /// How often a case was moved already (reroutes and triage assignments of `types`).
    func moves(of caseID: Int64, types: [LedgerEventType], on connection: PostgresConnection) async throws -> Int {
        try await connection.query(LifecycleQueries.movesOfCase, caseID, types.map(\.rawValue)).first?.decode(0, as: Int.self) ?? 0
    }

    /// Cancels a case's job that may still be pending. A job already finished, cancelled
    /// or pruned is fine (nothing is pending); any SQL error propagates and aborts the
    /// transaction.
    func cancelJob(_ job: Int64?, on connection: PostgresConnection) async throws {
        guard let job else { return }
        do {
            try await JobQueue.cancel(job, on: connection)
        } catch let error as QueueError where error.code == .wrongState || error.code == .notFound {}
    }

    // MARK: Operators

    /// Re-dispatches a case to another task force (a misrouting, or an assignment out of
    /// triage), in a transaction of its own: its current job is cancelled (a worker still
    /// on it is fenced out), a new job goes to the new queue, and the correction is kept
    /// as a labelled example.
    /// - Returns: the new job's id.
    /// - Throws: ``CaseError`` (no such case, an illegal state, an empty reason).
    @discardableResult
    package func reroute(_ caseID: Int64, to target: TaskForce, reason: String, actor: String,
                        on connection: PostgresConnection) async throws -> Int64 {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CaseError.invalidInput("--reason is required: say why the case belongs elsewhere", caseID: caseID, field: "reason")
        }
        return try await connection.transaction { tx in
            guard let snapshot = try await lock(caseID, on: tx) else { throw CaseError.noSuchCase(caseID) }
            let decision = try CaseTransition.decide(.rerouteByOperator(to: target), for: snapshot)
            guard case let .redispatch(to, event, source) = decision,
                  let job = try await redispatch(snapshot, to: to, event: event, source: source, reason: reason, actor: actor,
                                                 fromJob: nil, deadlineFrom: snapshot.receivedAt, on: tx)
            else { throw CaseError.illegal(caseID, state: snapshot.state, action: "rerouted") }
            return job
        }
    }

    /// Withdraws a case, in a transaction of its own: its job is cancelled and the case closed.
    /// - Throws: ``CaseError`` (no such case, or already closed).
    package func cancel(_ caseID: Int64, reason: String, actor: String, on connection: PostgresConnection) async throws {
        try await connection.transaction { tx in
            guard let snapshot = try await lock(caseID, on: tx) else { throw CaseError.noSuchCase(caseID) }
            guard case let .cancel(job) = try CaseTransition.decide(.cancel, for: snapshot) else { return }
            try await cancelJob(job, on: tx)
            try await tx.query(LifecycleQueries.cancelCase, caseID)
            var events = LedgerBatch(actor: actor)
            events.add(caseID, .cancelled(reason: reason))
            try await events.write(on: tx)
        }
    }

    // MARK: Workers (inside the transaction that completes or fails the job)

    /// Escalates a case one level: a new deadline, a higher priority, a new job in the
    /// same queue (the current job, if still pending, is cancelled). Into a level people
    /// own (the policy's `casework.peopleLevels`, always the top), the case is held for
    /// them instead: state `signoff`, no job, both clocks running (``holdForPeople``).
    /// - Parameters:
    ///   - fromJob: the job that asked (nil for the deadline enforcer); a stale job changes nothing.
    ///   - events: where ledger events are collected.
    /// - Returns: the new job id, or nil at the top level or when nothing was done.
    @discardableResult
    package func escalate(_ caseID: Int64, fromJob: Int64?, reason: String, events: inout LedgerBatch,
                         on connection: PostgresConnection) async throws -> Int64? {
        guard let snapshot = try await lock(caseID, on: connection) else { return nil }
        switch try CaseTransition.decide(.escalate(fromJob: fromJob), for: snapshot) {
        case let .escalateToTop(cancel):
            // Past the top there is no handler left: the top level's people hold the case.
            try await cancelJob(cancel, on: connection)
            try await holdForPeople(snapshot, level: snapshot.level, reason: reason, events: &events, on: connection)
            return nil
        case let .escalate(next, cancel) where policy.casework.isPeoples(level: next):
            try await cancelJob(cancel, on: connection)
            try await holdForPeople(snapshot, level: next, reason: reason, events: &events, on: connection)
            return nil
        case let .escalate(next, cancel):
            try await cancelJob(cancel, on: connection)
            let deadline = try policy.deadline(taskForce: snapshot.taskForce.rawValue, kind: nil, urgent: snapshot.urgent,
                                               escalationLevel: next, receivedAt: Date(), calendar: calendar)
            let job = try await JobQueue.enqueue(CaseJob(caseID: caseID, level: next).newJob(queue: snapshot.taskForce, urgent: snapshot.urgent),
                                                 on: connection).id
            try await connection.query(LifecycleQueries.escalateCase, caseID, next, deadline.dueAt, deadline.warnAt, deadline.rule, job)
            events.add(caseID, .escalated(fromLevel: snapshot.level, toLevel: next, reason: reason, job: job,
                                          dueAt: deadline.dueAt, rule: deadline.rule))
            events.add(caseID, .enqueued(job: job, queue: snapshot.taskForce.rawValue, level: next))
            return job
        default:
            return nil
        }
    }

    /// Holds a case for the people of its task force at `level` (docs/casework.md): no job,
    /// state `signoff`, the sign-off clock and the solution clock both counting from now.
    func holdForPeople(_ snapshot: CaseSnapshot, level: Int, reason: String, events: inout LedgerBatch,
                       on connection: PostgresConnection) async throws {
        let now = Date()
        let clocks = try Casework(policy: policy, calendar: calendar).peopleClocks(snapshot, level: level, from: now)
        let rule = "\(clocks.signOff.rule); solution, \(clocks.solution.rule)"
        try await connection.query(LifecycleQueries.holdForPeople, snapshot.id, level, clocks.signOff.dueAt, clocks.solution.dueAt,
                                   clocks.solution.warnAt, rule)
        events.add(snapshot.id, .escalated(fromLevel: snapshot.level, toLevel: level, reason: reason, job: nil,
                                           dueAt: clocks.solution.dueAt, rule: rule))
        events.add(snapshot.id, .heldForPeople(level: level, signoffDueAt: clocks.signOff.dueAt, dueAt: clocks.solution.dueAt,
                                               rule: rule, reason: reason))
    }

    /// Re-dispatches a case a handler found misrouted. After two moves it goes to triage
    /// instead, so that cases cannot bounce between task forces.
    ///
    /// The events collected so far are written first: once the case belongs to another
    /// task force, a department's login can no longer append to its ledger. The move
    /// itself (and its events) goes through the database's definer functions.
    package func rerouteByHandler(_ caseID: Int64, fromJob: Int64, to target: TaskForce, reason: String, actor: String,
                                 events: inout LedgerBatch, on connection: PostgresConnection) async throws {
        guard let snapshot = try await lock(caseID, on: connection) else { return }
        let moves = try await moves(of: caseID, types: [.rerouted], on: connection)
        let decision = try CaseTransition.decide(.rerouteByHandler(to: target, fromJob: fromJob, moves: moves), for: snapshot)
        switch decision {
        case .toTriage(let note):
            try await events.flush(on: connection)
            try await sendToTriage(caseID, fromJob: fromJob, reason: note.map { "\(reason); \($0)" } ?? reason, via: actor, on: connection)
        case let .redispatch(to, event, source):
            try await events.flush(on: connection)
            try await redispatch(snapshot, to: to, event: event, source: source, reason: reason, actor: actor,
                                 fromJob: fromJob, deadlineFrom: Date(), on: connection)
        default:
            return
        }
    }

    /// What a handler answered for one job of a case.
    package struct HandlerAnswer: Sendable {
        package var caseID: Int64
        package var jobID: Int64
        package var attempt: Int
        package var level: Int
        package var resolution: Resolution
        /// How long the handler ran, in seconds.
        package var duration: Double

        package init(caseID: Int64, jobID: Int64, attempt: Int, level: Int, resolution: Resolution, duration: Double) {
            self.caseID = caseID
            self.jobID = jobID
            self.attempt = attempt
            self.level = level
            self.resolution = resolution
            self.duration = duration
        }
    }

    /// Records what handlers answered, in the transaction that completes their jobs: a
    /// resolution row per job, the first response, the claim in the ledger, and the
    /// transition each outcome asks for (close, escalate, reroute).
    /// - Parameters:
    ///   - handler: `advisor` or `exec`.
    ///   - worker: the worker's name (the actor).
    package func recordAnswers(_ answers: [HandlerAnswer], handler: String, worker: String,
                              on connection: PostgresConnection) async throws {
        guard !answers.isEmpty else { return }
        try await connection.query(
            LifecycleQueries.insertResolutions,
            answers.map(\.caseID), answers.map(\.jobID), answers.map(\.attempt), answers.map(\.level),
            answers.map(\.resolution.outcome.rawValue), answers.map(\.resolution.summary), answers.map(\.resolution.reply),
            answers.map { RawJSON("[" + $0.resolution.measures.map(String.init).joined(separator: ",") + "]") },
            answers.map(\.resolution.responsibleUnit), answers.map(\.resolution.nextStep), answers.map { $0.resolution.rerouteTo?.rawValue },
            answers.map { _ in handler }, answers.map { _ in worker }, answers.map(\.duration))
        try await connection.query(LifecycleQueries.firstResponse, answers.map(\.caseID))
        // Resolved and rejected cases close in one statement (only those still carried by the answering job).
        let closing = answers.filter { $0.resolution.outcome == .resolved || $0.resolution.outcome == .reject }
        var closed: Set<Int64> = []
        if !closing.isEmpty {
            let result = try await connection.query(
                LifecycleQueries.closeCases, closing.map(\.caseID), closing.map(\.jobID),
                closing.map { $0.resolution.outcome == .resolved ? CaseState.resolved.rawValue : CaseState.rejected.rawValue })
            closed = Set(try result.map { try $0.decode(0, as: Int64.self) })
        }
        var events = LedgerBatch(actor: worker)
        for answer in answers {
            let caseID = answer.caseID
            let resolution = answer.resolution
            events.add(caseID, .claimed(job: answer.jobID, attempt: answer.attempt, level: answer.level,
                                        at: Date().addingTimeInterval(-answer.duration), worker: worker))
            switch resolution.outcome {
            case .resolved, .reject:
                guard closed.contains(caseID) else { continue }
                events.add(caseID, .answered(.init(
                    rejected: resolution.outcome == .reject, job: answer.jobID, attempt: answer.attempt, handler: handler,
                    summary: resolution.summary, measures: resolution.measures, responsibleUnit: resolution.responsibleUnit,
                    handlerSeconds: answer.duration, reply: resolution.reply, nextStep: resolution.nextStep)))
            case .escalate:
                try await escalate(caseID, fromJob: answer.jobID, reason: resolution.summary, events: &events, on: connection)
            case .reroute:
                try await rerouteByHandler(caseID, fromJob: answer.jobID, to: resolution.rerouteTo ?? .triage,
                                           reason: resolution.summary, actor: worker, events: &events, on: connection)
            }
        }
        try await events.write(on: connection)
    }

    /// A failed (or lost) attempt of a case's job.
    package struct FailedAttempt: Sendable {
        package var caseID: Int64
        package var jobID: Int64
        package var attempt: Int
        package var maxAttempts: Int
        package var error: String
        /// The job's state after the failure; `discarded` escalates the case.
        package var next: JobState
        package var duration: Double?

        package init(caseID: Int64, jobID: Int64, attempt: Int, maxAttempts: Int, error: String, next: JobState, duration: Double?) {
            self.caseID = caseID
            self.jobID = jobID
            self.attempt = attempt
            self.maxAttempts = maxAttempts
            self.error = error
            self.next = next
            self.duration = duration
        }
    }

    /// Records failed attempts in the ledger; a job whose last attempt failed (or was lost)
    /// escalates its case, with `escalationReason` saying why.
    package func recordFailures(_ failures: [FailedAttempt], actor: String, escalationReason: (FailedAttempt) -> String,
                               on connection: PostgresConnection) async throws {
        var events = LedgerBatch(actor: actor)
        for failure in failures {
            events.add(failure.caseID, .attemptFailed(job: failure.jobID, attempt: failure.attempt, maxAttempts: failure.maxAttempts,
                                                      error: failure.error, next: failure.next, handlerSeconds: failure.duration))
            if failure.next == .discarded {
                events.add(failure.caseID, .discarded(job: failure.jobID, attempts: failure.attempt))
                try await escalate(failure.caseID, fromJob: failure.jobID, reason: escalationReason(failure), events: &events, on: connection)
            }
        }
        try await events.write(on: connection)
    }

    // MARK: Deadlines (run by the maintenance leader)

    /// One pass of the deadline watch: records a warning when a case passes its warning
    /// point, and escalates a case whose deadline passed without a resolution — once per
    /// breach (per escalation level). Safe to run concurrently: rows are claimed with SKIP
    /// LOCKED and the warned/breached markers make every step happen once. Two
    /// transactions (warnings, then breaches).
    /// - Returns: how many warnings and breaches were recorded.
    @discardableResult
    package func enforceDeadlines(batch: Int, actor: String = "deadline-enforcer",
                                 on connection: PostgresConnection) async throws -> (warnings: Int, breaches: Int) {
        let warnings = try await connection.transaction { tx -> Int in
            var events = LedgerBatch(actor: actor)
            let rows = try await tx.query(LifecycleQueries.markWarnings, batch)
            for row in rows {
                events.add(try row.decode("id"), .deadlineWarning(level: try row.decode("escalation_level"), dueAt: try row.decode("due_at")))
            }
            try await events.write(on: tx)
            return rows.count
        }
        let breaches = try await connection.transaction { tx -> Int in
            var events = LedgerBatch(actor: actor)
            let due = try await tx.query(LifecycleQueries.dueBreaches, batch).map { try $0.decode(0, as: Int64.self) }
            for caseID in due {
                guard let marked = try await tx.query(LifecycleQueries.markBreach, caseID).first else { continue }
                let level: Int = try marked.decode("escalation_level")
                events.add(caseID, .deadlineBreached(level: level, dueAt: try marked.decode("due_at")))
                try await escalate(caseID, fromJob: nil, reason: "deadline passed at level \(level) without a resolution",
                                   events: &events, on: tx)
            }
            try await events.write(on: tx)
            return due.count
        }
        return (warnings, breaches)
    }

    // MARK: Moves (through the database's definer functions)

    /// Moves a locked case to another task force through `case_redispatch()` (migrations
    /// 0008/0010): the function checks that the caller's login may act for the case's
    /// current task force, validates the arguments, cancels the current job, enqueues the
    /// new one through `queue_enqueue()`, and writes the case, the correction and the
    /// ledger events as the schema owner, with the caller's login as the actor (`actor`
    /// is kept as `via`).
    /// - Returns: the new job's id, or nil when `fromJob` is no longer the case's job.
    @discardableResult
    func redispatch(_ snapshot: CaseSnapshot, to target: TaskForce, event: LedgerEventType, source: String, reason: String,
                    actor: String, fromJob: Int64?, deadlineFrom: Date, on connection: PostgresConnection) async throws -> Int64? {
        try await redispatch(Move(caseID: snapshot.id, to: target, level: snapshot.level, urgent: snapshot.urgent, kind: snapshot.kind,
                                  deadlineFrom: deadlineFrom, source: source, event: event, reason: reason, actor: actor),
                             fromJob: fromJob, on: connection)
    }

    /// The arguments of `case_redispatch()`.
    package struct Move: Sendable {
        package var caseID: Int64
        package var to: TaskForce
        package var level: Int
        package var urgent: Bool
        /// The case's kind; one no longer in the policy falls back to the task force's limit.
        package var kind: String?
        /// Where the new deadline counts from.
        package var deadlineFrom: Date
        /// `manual` (out of triage) or `corrected` (a misrouting).
        package var source: String
        /// `assigned` or `rerouted`.
        package var event: LedgerEventType
        package var reason: String
        package var actor: String

        package init(caseID: Int64, to: TaskForce, level: Int, urgent: Bool, kind: String?, deadlineFrom: Date,
                    source: String, event: LedgerEventType, reason: String, actor: String) {
            self.caseID = caseID
            self.to = to
            self.level = level
            self.urgent = urgent
            self.kind = kind
            self.deadlineFrom = deadlineFrom
            self.source = source
            self.event = event
            self.reason = reason
            self.actor = actor
        }
    }

    /// Calls `case_redispatch()` with `move` as given (the function, not this program,
    /// is the security boundary: the attack tests call this directly with hostile moves).
    @discardableResult
    package func redispatch(_ move: Move, fromJob: Int64?, on connection: PostgresConnection) async throws -> Int64? {
        let kind = move.kind.flatMap { policy.kindKeys.contains($0) ? $0 : nil }
        let deadline = try policy.deadline(taskForce: move.to.rawValue, kind: kind, urgent: move.urgent,
                                           escalationLevel: move.level, receivedAt: move.deadlineFrom, calendar: calendar)
        let row = try await connection.query(
            LifecycleQueries.redispatch, move.caseID, fromJob, move.to.rawValue, move.source, move.event.rawValue, move.reason,
            move.actor, move.level, deadline.dueAt, deadline.warnAt, deadline.rule
        ).first
        return try row?.decode(0, as: Int64?.self)
    }

    /// Hands a case to a person (triage) through `case_to_triage()` (same checks as ``redispatch(_:fromJob:on:)``).
    /// - Returns: false when `fromJob` is no longer the case's job or the case is not open.
    @discardableResult
    package func sendToTriage(_ caseID: Int64, fromJob: Int64?, reason: String, via: String,
                             on connection: PostgresConnection) async throws -> Bool {
        try await connection.query(LifecycleQueries.toTriage, caseID, fromJob, reason, via).first?.decode(0, as: Bool.self) ?? false
    }
}
