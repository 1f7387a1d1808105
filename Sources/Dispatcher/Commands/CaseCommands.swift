import ArgumentParser
import CaseLedger
import Foundation
import PostgresClient
import QueueCore
import TaskForces

/// Everything intake needs, loaded once per command.
struct IntakeContext {
    let intake: CaseIntake
    let policy: TimeLimitPolicy
    let calendar: WorkCalendar

    init(model: ModelOptions, policy: PolicyOptions, actor: String) throws {
        let normalizer = try TextNormalizer()
        let (timeLimits, workCalendar) = try policy.load()
        var settings = CaseIntake.Settings()
        settings.actor = actor
        intake = CaseIntake(classifier: try model.classifier(normalizer: normalizer), policy: timeLimits, calendar: workCalendar, settings: settings)
        self.policy = timeLimits
        self.calendar = workCalendar
    }
}

/// Who is acting, for the ledger: `--actor`, else $USER, else "operator".
func operatorName(_ given: String?) -> String {
    given ?? ProcessInfo.processInfo.environment["USER"].map { "operator:\($0)" } ?? "operator"
}

func formatDate(_ date: Date?) -> String { date.map(PostgresTimestamp.display) ?? "-" }

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Take in one problem: route it, set its deadline, queue it. Prints the case id, task force, confidence and due time.")

    @Argument(help: "The problem text.") var text: String
    @Option(help: "The enterprise's name.") var enterprise: String?
    @Option(help: "How to reach the enterprise.") var contact: String?
    @Option(help: "hotline, app, cadre_visit, chamber_of_commerce, complaint or import.") var channel = "hotline"
    @Option(help: "Kind of matter (e.g. business_licence); detected from the text if omitted.") var kind: String?
    @Option(name: .customLong("external-id"), help: "The sender's id; submitting it again creates nothing new.") var externalID: String?
    @Option(name: .customLong("task-force"), help: "Route by hand instead of the classifier.") var taskForce: String?
    @Flag(help: "Urgent: shortens the time limit.") var urgent = false
    @Option(help: "Recorded as who took the case in.") var actor: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var policy: PolicyOptions

    func run() async throws {
        let context = try IntakeContext(model: model, policy: policy, actor: operatorName(actor))
        let input = CaseInput(
            text: text, enterprise: enterprise, contact: contact, channel: try CaseChannel(parsing: channel),
            externalID: externalID, kind: kind, taskForce: try taskForce.map(TaskForce.init(parsing:)), urgent: urgent)
        let prepared = try context.intake.prepare(input)
        try await database.withConnection("dispatcher-submit") { connection in
            let outcome = try await connection.transaction { try await context.intake.store([prepared], on: $0) }[0]
            if json {
                let object: [String: Any] = [
                    "case_id": outcome.caseID, "disposition": outcome.disposition.rawValue, "task_force": outcome.taskForce.rawValue,
                    "confidence": (outcome.confidence * 1000).rounded() / 1000, "terms": outcome.terms,
                    "kind": outcome.kind ?? NSNull(), "due_at": outcome.dueAt.map(PostgresTimestamp.format) ?? NSNull(),
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
                return
            }
            switch outcome.disposition {
            case .created:
                print("case \(outcome.caseID)  \(outcome.taskForce.rawValue)  confidence \(String(format: "%.2f", outcome.confidence))  due \(formatDate(outcome.dueAt))")
                if !outcome.terms.isEmpty { print("terms: \(outcome.terms.joined(separator: ", "))") }
                if outcome.taskForce == .triage { print("sent to triage: a person will route it (dispatcher triage)") }
            case .merged:
                print("repeated demand: linked to open case \(outcome.caseID) (\(outcome.taskForce.rawValue)); no new job")
            case .duplicateExternalID:
                print("already taken in as case \(outcome.caseID) (external id \(externalID ?? "")); nothing new")
            }
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per task force: open, running, overdue, escalated, resolved and discarded; plus the triage backlog.")

    @Flag(help: "Print JSON: {\"task_forces\": {\"tax\": {\"open\": 0, …}, …}, \"triage\": 0}.") var json = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await database.withConnection("dispatcher-status") { connection in
            let status = try await CaseOperations.status(on: connection)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(status), as: UTF8.self))
                return
            }
            print("task force       open  running  overdue  escalated  resolved  discarded")
            for taskForce in TaskForce.departments {
                let row = status.taskForces[taskForce.rawValue] ?? TaskForceStatus()
                print(taskForce.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
                      + [row.open, row.running, row.overdue, row.escalated, row.resolved, row.discarded]
                        .enumerated().map { String($0.element).leftPad([6, 9, 9, 11, 10, 11][$0.offset]) }.joined())
            }
            print("triage backlog: \(status.triage)")
        }
    }
}

struct CaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "case", abstract: "Show a case with its whole ledger.")

    @Argument(help: "Case id.") var id: Int64
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await database.withConnection("dispatcher-case") { connection in
            guard let record = try await CaseOperations.record(id, on: connection) else {
                throw ValidationError("no case with id \(id)")
            }
            if json {
                let events: [[String: Any]] = record.events.map { event in
                    ["id": event.id, "at": PostgresTimestamp.format(event.at), "type": event.type, "actor": event.actor,
                     "login": event.login ?? NSNull(),
                     "data": (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) ?? event.data]
                }
                let object: [String: Any] = [
                    "id": record.id, "external_id": record.externalID ?? NSNull(), "text": record.text,
                    "enterprise": record.enterprise ?? NSNull(), "contact": record.contact ?? NSNull(), "channel": record.channel,
                    "language": record.language, "received_at": PostgresTimestamp.format(record.receivedAt),
                    "task_force": record.taskForce.rawValue, "confidence": record.confidence ?? NSNull(),
                    "routing_source": record.routingSource, "kind": record.kind ?? NSNull(), "urgent": record.urgent,
                    "escalation_level": record.escalationLevel, "state": record.state.rawValue,
                    "original_due_at": record.originalDueAt.map(PostgresTimestamp.format) ?? NSNull(),
                    "due_at": record.dueAt.map(PostgresTimestamp.format) ?? NSNull(),
                    "warn_at": record.warnAt.map(PostgresTimestamp.format) ?? NSNull(),
                    "deadline_rule": record.deadlineRule ?? NSNull(), "duplicate_of": record.duplicateOf ?? NSNull(),
                    "repeat_count": record.repeatCount, "current_job_id": record.currentJobID ?? NSNull(),
                    "resolved_at": record.resolvedAt.map(PostgresTimestamp.format) ?? NSNull(), "events": events,
                    "deadline_status": record.deadlineStatus(),
                    "clocks": Self.clocks(record), "casework": Self.casework(record),
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
                return
            }
            print("case \(record.id)\(record.externalID.map { " (\($0))" } ?? "")  \(record.state.rawValue)  \(record.taskForce.rawValue) — \(record.taskForce.chineseName)")
            print("enterprise: \(record.enterprise ?? "-")   contact: \(record.contact ?? "-")   channel: \(record.channel)   language: \(record.language)")
            print("received \(formatDate(record.receivedAt))   due \(formatDate(record.dueAt)) (first due \(formatDate(record.originalDueAt)))   warn \(formatDate(record.warnAt))   deadline: \(record.deadlineStatus().replacingOccurrences(of: "_", with: " "))")
            print("routing: \(record.routingSource), confidence \(record.confidence.map { String(format: "%.2f", $0) } ?? "-"), kind \(record.kind ?? "-"), urgent \(record.urgent), level \(record.escalationLevel), repeats \(record.repeatCount)")
            if let rule = record.deadlineRule { print("deadline rule: \(rule)") }
            if record.casework.signoffDueAt != nil {
                let work = record.casework
                print("clocks: sign-off due \(formatDate(work.signoffDueAt)) (\(record.signOffStatus().replacingOccurrences(of: "_", with: " "))\(work.signedOffBy.map { ", by \($0)" } ?? ""))   solution due \(formatDate(record.dueAt))\(record.state == .suspended ? " (paused until \(formatDate(work.resumeAt)) at the latest)" : "")   paused so far \(Int(work.pausedSeconds))s")
                print("casework: suspended \(work.suspendCount)×, redo \(work.redoCount)×, supervised \(work.supervisedCount)×, chased \(work.chasedCount)×\(work.callbackDueAt.map { ", callback due \(formatDate($0))" } ?? "")")
                for row in work.cohandling {
                    print("  co-handling \(row.taskForce): \(row.question) → \(row.reply ?? "(waiting)")")
                }
                for row in work.answers {
                    print("  answer round \(row.round) by \(row.answeredBy)\(row.onTime ? "" : " (late)"): \(row.answer.prefix(120))\(row.satisfaction.map { " — callback: \($0)" } ?? "")")
                }
            }
            print("text: \(record.text)")
            print("ledger:")
            for event in record.events {
                print("  \(formatDate(event.at))  \(event.type.padding(toLength: 18, withPad: " ", startingAt: 0)) \(Self.signature(event).padding(toLength: 22, withPad: " ", startingAt: 0)) \(event.data)")
            }
        }
    }

    /// Both clocks of a case: sign-off (签收) and solution (办结), with the pauses of the latter.
    static func clocks(_ record: CaseRecord) -> [String: Any] {
        func time(_ date: Date?) -> Any { date.map(PostgresTimestamp.format) ?? NSNull() }
        let work = record.casework
        return [
            "sign_off": ["due_at": time(work.signoffDueAt), "signed_off_at": time(work.signedOffAt),
                         "signed_off_by": work.signedOffBy ?? NSNull(), "status": record.signOffStatus()],
            "solution": ["due_at": time(record.dueAt), "warn_at": time(record.warnAt), "status": record.deadlineStatus(),
                         "paused": record.state == .suspended, "paused_at": time(work.pausedAt), "resume_at": time(work.resumeAt),
                         "paused_seconds": work.pausedSeconds, "rule": record.deadlineRule ?? NSNull()],
            "pauses": record.pauses.map { pause -> [String: Any] in
                ["from": PostgresTimestamp.format(pause.from), "until": time(pause.until), "reason": pause.reason ?? NSNull(),
                 "automatic": pause.automatic ?? NSNull()]
            },
        ]
    }

    /// The people's side of a case: counters, co-handling, answers and callbacks.
    static func casework(_ record: CaseRecord) -> [String: Any] {
        func time(_ date: Date?) -> Any { date.map(PostgresTimestamp.format) ?? NSNull() }
        let work = record.casework
        return [
            "suspend_count": work.suspendCount, "redo_count": work.redoCount, "supervised_count": work.supervisedCount,
            "chased_count": work.chasedCount, "answered_at": time(work.answeredAt), "callback_due_at": time(work.callbackDueAt),
            "cohandling": work.cohandling.map { row -> [String: Any] in
                ["task_force": row.taskForce, "question": row.question, "requested_by": row.requestedBy,
                 "requested_at": PostgresTimestamp.format(row.requestedAt), "reply": row.reply ?? NSNull(),
                 "replied_by": row.repliedBy ?? NSNull(), "replied_at": time(row.repliedAt)]
            },
            "answers": work.answers.map { row -> [String: Any] in
                ["round": row.round, "answer": row.answer, "language": row.language, "drafted": row.drafted,
                 "answered_by": row.answeredBy, "answered_at": PostgresTimestamp.format(row.answeredAt), "on_time": row.onTime,
                 "satisfaction": row.satisfaction ?? NSNull(), "callback_note": row.callbackNote ?? NSNull(),
                 "callback_by": row.callbackBy ?? NSNull(), "callback_at": time(row.callbackAt)]
            },
        ]
    }

    /// Who wrote an event: its actor, and the database login behind it when that differs.
    static func signature(_ event: CaseEvent) -> String {
        guard let login = event.login, login != event.actor else { return event.actor }
        return "\(event.actor) [\(login)]"
    }
}

struct RerouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reroute",
        abstract: "Re-dispatch a misrouted case to another task force; the correction is kept for retraining.")

    @Argument(help: "Case id.") var id: Int64
    @Option(help: "The task force it belongs to.") var to: String
    @Option(help: "Why (kept with the correction).") var reason: String
    @Option(help: "Recorded as who decided.") var actor: String?
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var policy: PolicyOptions

    func run() async throws {
        let (timeLimits, calendar) = try policy.load()
        try await database.withConnection("dispatcher-reroute") { connection in
            let job = try await CaseLifecycle(policy: timeLimits, calendar: calendar).reroute(
                id, to: try TaskForce(parsing: to), reason: reason, actor: operatorName(actor), on: connection)
            print("case \(id) rerouted to \(to) (job \(job)); correction kept for `dispatcher train --with-corrections`")
        }
    }
}

struct TriageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "List the triage backlog, or assign a case to a task force.",
        subcommands: [TriageList.self, TriageAssign.self],
        defaultSubcommand: TriageList.self)

    struct TriageList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Cases waiting for a person to route them, oldest first.")
        @Option(help: "Most cases to list.") var limit = 50
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var model: ModelOptions

        func run() async throws {
            // The classifier's three most probable task forces, as suggestions (the text is
            // classified again here, with the model the operator names).
            let classifier = try model.classifier(normalizer: try TextNormalizer())
            try await database.withConnection("dispatcher-triage") { connection in
                let backlog = try await TriageDesk.entries(limit: limit, classifier: classifier, on: connection)
                if backlog.isEmpty { print("triage backlog is empty"); return }
                for entry in backlog {
                    let text = entry.text.replacingOccurrences(of: "\n", with: " ")
                    let suggestions = entry.suggestions.isEmpty ? "-"
                        : entry.suggestions.map { "\($0.taskForce.rawValue) \(String(format: "%.2f", $0.probability))" }.joined(separator: ", ")
                    let partner = entry.cohandling.map { "\tco-handling: \($0.rawValue)" } ?? ""
                    print("\(entry.id)\t\(formatDate(entry.receivedAt))\t\(entry.enterprise ?? "-")\t\(text.count > 80 ? String(text.prefix(80)) + "…" : text)\tsuggested: \(suggestions)\(partner)")
                }
                print("assign with: dispatcher triage assign ID --to TASK_FORCE")
            }
        }
    }

    struct TriageAssign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "assign", abstract: "Route a triage case to a task force by hand.")
        @Argument(help: "Case id.") var id: Int64
        @Option(help: "The task force.") var to: String
        @Option(help: "Why (kept as a labelled example).") var reason = "assigned from triage"
        @Option(help: "Recorded as who decided.") var actor: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var policy: PolicyOptions

        func run() async throws {
            let (timeLimits, calendar) = try policy.load()
            try await database.withConnection("dispatcher-triage") { connection in
                let job = try await CaseLifecycle(policy: timeLimits, calendar: calendar).reroute(
                    id, to: try TaskForce(parsing: to), reason: reason, actor: operatorName(actor), on: connection)
                print("case \(id) assigned to \(to) (job \(job))")
            }
        }
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Withdraw a case: its job is cancelled and the case closed.")
    @Argument(help: "Case id.") var id: Int64
    @Option(help: "Why.") var reason = "cancelled by operator"
    @Option(help: "Recorded as who decided.") var actor: String?
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var policy: PolicyOptions

    func run() async throws {
        let (timeLimits, calendar) = try policy.load()
        try await database.withConnection("dispatcher-cancel") { connection in
            try await CaseLifecycle(policy: timeLimits, calendar: calendar).cancel(id, reason: reason, actor: operatorName(actor), on: connection)
            print("case \(id) cancelled")
        }
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Per task force: cases, resolved, escalated, rerouted, median and p95 time to resolve, deadline breaches.")

    @Flag(help: "Print JSON.") var json = false
    @Option(help: ArgumentHelp("Wait until no case is open (resolved, held for people or in triage), at most this many seconds.", valueName: "SECONDS"))
    var waitSettled: Int?
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await database.withConnection("dispatcher-report") { connection in
            if let waitSettled {
                let end = Date().addingTimeInterval(Double(waitSettled))
                var pending = try await CaseReport.pendingCases(on: connection)
                while pending > 0, Date() < end {
                    try await Task.sleep(for: .milliseconds(500))
                    pending = try await CaseReport.pendingCases(on: connection)
                }
                if pending > 0 {
                    printError("report: \(pending) cases still open after \(waitSettled) s")
                }
            }
            let rows = try await CaseReport.rows(on: connection)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            } else {
                print(CaseReport.format(rows))
            }
        }
    }
}
