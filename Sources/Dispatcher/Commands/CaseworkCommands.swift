import ArgumentParser
import CaseLedger
import Foundation
import PostgresClient
import TaskForces

// The casework verbs (docs/casework.md). Each runs as the caller's own login
// (DATABASE_URL): row-level security decides which cases it sees and may change, so an
// officer of one task force cannot act on another's case ("no case … you may see").

/// Prints a casework result as one line or as JSON.
private func report(_ result: CaseworkResult, json: Bool) throws {
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(PostgresTimestamp.format(date))
        }
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    } else {
        print("case \(result.caseID): \(result.message)")
    }
}

/// Runs one casework action with the policy and a connection, printing its result.
private func perform(_ name: String, database: DatabaseOptions, policy: PolicyOptions, json: Bool,
                     _ action: (Casework, PostgresConnection) async throws -> CaseworkResult) async throws {
    let (timeLimits, calendar) = try policy.load()
    try await database.withConnection("dispatcher-\(name)") { connection in
        try report(try await action(Casework(policy: timeLimits, calendar: calendar), connection), json: json)
    }
}

/// The options every casework verb has.
struct CaseworkOptions: ParsableArguments {
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var policy: PolicyOptions
}

struct SignOffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-off", abstract: "Sign a case off (签收): take it for your task force; the solution clock runs on.")
    @Argument(help: "Case id.") var id: Int64
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        try await perform("sign-off", database: options.database, policy: options.policy, json: options.json) {
            try await $0.signOff(id, on: $1)
        }
    }
}

struct SuspendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspend",
        abstract: "Suspend a case while waiting on the enterprise (挂起): the solution clock pauses until you resume it, or at --until.")
    @Argument(help: "Case id.") var id: Int64
    @Option(help: ArgumentHelp("When it resumes at the latest: an ISO 8601 time, or a duration from now (90m, 8h, 2d).", valueName: "TIME"))
    var until: String
    @Option(help: "Why (what the enterprise must provide).") var reason: String
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        let resumeAt = try parseTime(until, option: "--until")
        try await perform("suspend", database: options.database, policy: options.policy, json: options.json) {
            try await $0.suspend(id, until: resumeAt, reason: reason, on: $1)
        }
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a suspended case; the paused time is added to its solution clock.")
    @Argument(help: "Case id.") var id: Int64
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        try await perform("resume", database: options.database, policy: options.policy, json: options.json) {
            try await $0.resume(id, on: $1)
        }
    }
}

struct ReturnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "return", abstract: "Return a misassigned case to triage (退回), with a reason; counted in your task force's return rate.")
    @Argument(help: "Case id.") var id: Int64
    @Option(help: "Why it is not your task force's.") var reason: String
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        try await perform("return", database: options.database, policy: options.policy, json: options.json) {
            try await $0.returnToTriage(id, reason: reason, on: $1)
        }
    }
}

struct CohandleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohandle",
        abstract: "Ask other task forces for parts of the answer (协办); the case can be answered when all have replied.")
    @Argument(help: "Case id.") var id: Int64
    @Option(name: .customLong("with"), help: "Comma-separated task forces to ask, e.g. legal,foreign.") var partners: String
    @Option(help: "What you need from them.") var question: String
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        let taskForces = try partners.split(separator: ",").map { try TaskForce(parsing: $0.trimmingCharacters(in: .whitespaces)) }
        try await perform("cohandle", database: options.database, policy: options.policy, json: options.json) {
            try await $0.requestCohandling(id, partners: taskForces, question: question, on: $1)
        }
    }
}

struct CohandleReplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohandle-reply", abstract: "Reply to a co-handling request addressed to your task force.")
    @Argument(help: "Case id.") var id: Int64
    @Option(name: .customLong("as"), help: "Your task force (the one that was asked).") var taskForce: String
    @Option(help: "Your part of the answer.") var text: String
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        let partner = try TaskForce(parsing: taskForce)
        try await perform("cohandle-reply", database: options.database, policy: options.policy, json: options.json) {
            try await $0.replyCohandling(id, as: partner, reply: text, on: $1)
        }
    }
}

struct AnswerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer the enterprise (答复), in its language; the callback is scheduled. `--show-draft` prints the advisor's draft only.")
    @Argument(help: "Case id.") var id: Int64
    @Option(help: "The answer ('-' reads standard input).") var text: String?
    @Flag(name: .customLong("use-draft"), help: "Answer with the advisor's draft as it is.") var useDraft = false
    @Flag(name: .customLong("show-draft"), help: "Print the advisor's draft in the enterprise's language and answer nothing.") var showDraft = false
    @Flag(help: "The --text was edited from the advisor's draft (counted as drafted).") var drafted = false
    @OptionGroup var model: ModelOptions
    @OptionGroup var options: CaseworkOptions

    func validate() throws {
        let modes = [text != nil, useDraft, showDraft].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --text, --use-draft, --show-draft") }
    }

    func run() async throws {
        var answer = text
        if answer == "-" {
            answer = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        if useDraft || showDraft {
            let draft = try await options.database.withConnection("dispatcher-draft") { connection in
                guard let record = try await CaseOperations.record(id, on: connection) else {
                    throw CaseError.noSuchCase(id)
                }
                return try draftAnswer(for: record)
            }
            if showDraft {
                if options.json {
                    print(String(decoding: try JSONSerialization.data(withJSONObject: ["case_id": id, "draft": draft], options: [.sortedKeys]), as: UTF8.self))
                } else {
                    print(draft)
                }
                return
            }
            answer = draft
        }
        let finalText = answer ?? ""
        let fromDraft = useDraft || drafted
        try await perform("answer", database: options.database, policy: options.policy, json: options.json) {
            try await $0.answer(id, text: finalText, drafted: fromDraft, on: $1)
        }
    }

    /// The advisor's reply for the case, in the enterprise's language (its summary when it has no reply).
    private func draftAnswer(for record: CaseRecord) throws -> String {
        let normalizer = try TextNormalizer()
        let advisor = CaseAdvisor(catalogue: try MeasuresCatalogue.bundled(), escalationTerms: try EscalationTerms.bundled(),
                                  classifier: try model.classifier(normalizer: normalizer))
        return CaseDraft.answer(for: record, advisor: advisor)
    }
}

struct CallbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callback",
        abstract: "Record the callback (回访): satisfied or basically_satisfied closes the case; unsatisfied reopens it as a redo (重办).")
    @Argument(help: "Case id.") var id: Int64
    @Option(help: "satisfied, basically_satisfied (or basically), unsatisfied.") var satisfaction: String
    @Option(help: "What the enterprise said.") var note: String?
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        let value = try Satisfaction(parsing: satisfaction)
        try await perform("callback", database: options.database, policy: options.policy, json: options.json) {
            try await $0.recordCallback(id, satisfaction: value, note: note, on: $1)
        }
    }
}

struct SuperviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise", abstract: "Supervise a case as a leader (督办); counted per task force.")
    @Argument(help: "Case id.") var id: Int64
    @Option(help: "The instruction.") var note: String
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        try await perform("supervise", database: options.database, policy: options.policy, json: options.json) {
            try await $0.supervise(id, note: note, on: $1)
        }
    }
}

struct ChaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chase", abstract: "Chase an overdue case as a leader (催办); counted per task force.")
    @Argument(help: "Case id.") var id: Int64
    @Option(help: "The reminder.") var note: String
    @OptionGroup var options: CaseworkOptions
    func run() async throws {
        try await perform("chase", database: options.database, policy: options.policy, json: options.json) {
            try await $0.chase(id, note: note, on: $1)
        }
    }
}

struct InboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "The people's cases your login may see, most urgent first, with both clocks; and co-handling requests for you.")
    @Option(help: "Only this state: signoff, working, suspended, cohandling, answered, callback_due, redo.") var state: String?
    @Option(help: "Most cases to list.") var limit = 50
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        if let state {
            guard let parsed = CaseState(rawValue: state), parsed.isWithPeople || parsed == .answered || parsed == .callbackDue else {
                throw ValidationError("--state \(state) is not a people's state; use signoff, working, suspended, cohandling, answered, callback_due or redo")
            }
        }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
        try await database.withConnection("dispatcher-inbox") { connection in
            let inbox = try await CaseworkInbox.read(state: state, limit: limit, on: connection)
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: inbox.jsonObject(), options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
                return
            }
            print("id      task force      state         level  sign-off due        solution due        text")
            for item in inbox.cases {
                let signOff = item.state == "signoff" || item.state == "redo" ? formatDate(item.signoffDueAt) : "-"
                let solution = item.state == "suspended" ? "paused" : formatDate(item.dueAt)
                print("\(String(item.id).padding(toLength: 7, withPad: " ", startingAt: 0)) \(item.taskForce.padding(toLength: 15, withPad: " ", startingAt: 0)) \(item.state.padding(toLength: 13, withPad: " ", startingAt: 0)) \(String(item.level).padding(toLength: 6, withPad: " ", startingAt: 0)) \(signOff.padding(toLength: 19, withPad: " ", startingAt: 0)) \(solution.padding(toLength: 19, withPad: " ", startingAt: 0)) \(item.text.prefix(40))")
            }
            if !inbox.requests.isEmpty {
                print("co-handling requests for you:")
                for request in inbox.requests {
                    print("  case \(request.caseID)  \(request.leadTaskForce) asks \(request.taskForce): \(request.question)")
                }
            }
        }
    }
}

/// Parses `--until`: an ISO 8601 time, or a duration from now (`90m`, `8h`, `2d`).
func parseTime(_ text: String, option: String, now: Date = Date()) throws -> Date {
    if let duration = parseDurationFromNow(text) { return now.addingTimeInterval(duration) }
    let formatter = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
        formatter.formatOptions = options
        if let date = formatter.date(from: text) { return date }
    }
    throw ValidationError("\(option) \(text) is neither an ISO 8601 time (2026-12-03T09:00:00+08:00) nor a duration (90m, 8h, 2d)")
}

private func parseDurationFromNow(_ text: String) -> TimeInterval? {
    guard let unit = text.last, let value = Double(text.dropLast()), value > 0 else { return nil }
    switch unit {
    case "s": return value
    case "m": return value * 60
    case "h": return value * 3600
    case "d": return value * 86_400
    default: return nil
    }
}

struct KPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kpi",
        abstract: "Casework KPIs per task force and month: the three rates (response, resolution, satisfaction), return and redo rates, supervision, the ranking.")
    @Option(help: ArgumentHelp("A month, YYYY-MM (default: every month).", valueName: "YYYY-MM")) var month: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        var start: Date?
        if let month {
            let parts = month.split(separator: "-")
            guard parts.count == 2, let year = Int(parts[0]), let number = Int(parts[1]), (1...12).contains(number),
                  let date = Calendar(identifier: .gregorian).date(from: DateComponents(year: year, month: number, day: 15))
            else { throw ValidationError("--month \(month) is not YYYY-MM") }
            start = date
        }
        try await database.withConnection("dispatcher-kpi") { connection in
            let rows = try await CaseworkKPI.read(month: start, on: connection)
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: rows.map(\.jsonObject), options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            } else {
                print(CaseworkKPI.table(rows))
            }
        }
    }
}
