import CaseLedger
import Foundation
import PostgresClient
import PostgresTestSupport
import TaskForces
import Testing

/// The casework verbs of `dispatcher`, run as a person would: the built binary, under
/// that person's own login (DATABASE_URL), with `--json` read back as JSON.
@Suite("Casework verbs of dispatcher, each under its caller's login")
struct CaseworkCLITests {
    struct Run {
        let status: Int32
        /// Standard output.
        let stdout: String
        /// Standard output and standard error, for messages.
        var output: String { stdout + stderr }
        let stderr: String
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
        }
    }

    static func dispatcher(_ arguments: [String], as login: TestDatabase.Login) throws -> Run {
        let process = Process()
        process.executableURL = Shared.productsDirectory.appending(path: "dispatcher")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["DATABASE_URL"] = login.url
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let messages = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
                   stderr: String(decoding: messages, as: UTF8.self))
    }

    @Test("an officer signs off and answers with the advisor's draft, an operator calls back, a leader reads the KPIs; case --json shows both clocks")
    func verbs() async throws {
        let ledger = try await Ledger.make("e2e_casework_cli")
        defer { Task { await ledger.close() } }
        let lifecycle = CaseLifecycle(policy: Shared.policy, calendar: Shared.calendar)
        let outcomes = try await ledger.submit([
            CaseInput(text: "政府拖欠我公司工程款三百万元，多次催要未果", taskForce: .legal),
            CaseInput(text: "留抵退税没到账", taskForce: .tax),
        ])
        let legalCase = outcomes[0].caseID
        let taxCase = outcomes[1].caseID
        for id in [legalCase, taxCase] {
            try await ledger.connection.transaction { tx in
                var events = LedgerBatch(actor: "deadline-enforcer")
                for _ in 0..<2 { try await lifecycle.escalate(id, fromJob: nil, reason: "nobody solved it", events: &events, on: tx) }
                try await events.write(on: tx)
            }
        }
        let officer = try await TestDatabase.login(["taskforce_officer_legal"], on: ledger.database)
        let desk = try await TestDatabase.login(["taskforce_dispatcher"], on: ledger.database)
        let leader = try await TestDatabase.login(["taskforce_leader"], on: ledger.database)

        let inbox = try Self.dispatcher(["inbox", "--json"], as: officer)
        #expect(inbox.status == 0, "\(inbox.output)")
        let listed = (inbox.json["cases"] as? [[String: Any]])?.compactMap { ($0["id"] as? NSNumber)?.int64Value }
        #expect(listed == [legalCase], "\(inbox.output)")

        // Another task force's case: refused, and named.
        let foreign = try Self.dispatcher(["sign-off", String(taxCase), "--json"], as: officer)
        #expect(foreign.status != 0)
        #expect(foreign.output.contains("\(taxCase)"), "\(foreign.output)")

        let signed = try Self.dispatcher(["sign-off", String(legalCase), "--json"], as: officer)
        #expect(signed.status == 0, "\(signed.output)")
        #expect(signed.json["state"] as? String == "working", "\(signed.output)")
        let draft = try Self.dispatcher(["answer", String(legalCase), "--show-draft"], as: officer)
        #expect(draft.status == 0 && !draft.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(draft.output)")
        let answered = try Self.dispatcher(["answer", String(legalCase), "--use-draft", "--json"], as: officer)
        #expect(answered.status == 0, "\(answered.output)")
        #expect(answered.json["state"] as? String == "answered")

        let refused = try Self.dispatcher(["callback", String(legalCase), "--satisfaction", "delighted", "--json"], as: desk)
        #expect(refused.status != 0)
        #expect(refused.output.contains("satisfaction"), "\(refused.output)")
        let called = try Self.dispatcher(["callback", String(legalCase), "--satisfaction", "unsatisfied", "--note", "钱还没到", "--json"], as: desk)
        #expect(called.status == 0, "\(called.output)")
        #expect(called.json["state"] as? String == "redo")

        let record = try Self.dispatcher(["case", String(legalCase), "--json"], as: desk)
        #expect(record.status == 0, "\(record.output)")
        let clocks = try #require(record.json["clocks"] as? [String: Any], "\(record.output)")
        let signOff = try #require(clocks["sign_off"] as? [String: Any])
        #expect(signOff["due_at"] is String)
        let solution = try #require(clocks["solution"] as? [String: Any])
        #expect(solution["due_at"] is String && solution["paused"] as? Bool == false)
        let casework = try #require(record.json["casework"] as? [String: Any])
        #expect((casework["redo_count"] as? NSNumber)?.intValue == 1)
        let answers = try #require(casework["answers"] as? [[String: Any]])
        #expect(answers.count == 1)
        #expect(answers.first?["satisfaction"] as? String == "unsatisfied")
        #expect(answers.first?["drafted"] as? Bool == true)
        #expect(answers.first?["answered_by"] as? String == officer.name)

        let kpi = try Self.dispatcher(["kpi", "--json"], as: leader)
        #expect(kpi.status == 0, "\(kpi.output)")
        #expect(kpi.output.contains("\"legal\"") && kpi.output.contains("satisfaction_rate"), "\(kpi.output)")
        let chase = try Self.dispatcher(["chase", String(taxCase), "--note", "请今天签收", "--json"], as: leader)
        #expect(chase.status == 0, "\(chase.output)")
        // An officer chases nobody.
        let officerChase = try Self.dispatcher(["chase", String(legalCase), "--note", "催", "--json"], as: officer)
        #expect(officerChase.status != 0, "\(officerChase.output)")
    }
}
