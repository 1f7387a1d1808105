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
        // Standard error goes to a file: reading two pipes one after the other could block
        // for ever once the unread one fills its buffer.
        let errorsPath = NSTemporaryDirectory() + "dispatcher-stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorsPath) }
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errors.close()
        let messages = FileManager.default.contents(atPath: errorsPath) ?? Data()
        return Run(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
                   stderr: String(decoding: messages, as: UTF8.self))
    }

    @Test("an officer signs off and answers with the advisor's draft, an operator calls back, a leader reads the KPIs; case --json shows both clocks")
    func verbs() async throws {
        let ledger = try await Ledger.make("e2e_casework_cli")
        defer { Task { await ledger.close() } }
        let outcomes = try await ledger.submit([
            CaseInput(text: "政府拖欠我公司工程款三百万元，多次催要未果", taskForce: .legal),
            CaseInput(text: "留抵退税没到账", taskForce: .tax),
        ])
        let legalCase = outcomes[0].caseID
        let taxCase = outcomes[1].caseID
        for id in [legalCase, taxCase] { try await ledger.holdForPeople(id) }
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

extension CaseworkCLITests {
    @Test("the triage desk lists each case with the classifier's three most probable task forces, and a co-handling partner when it names one")
    func triageSuggestions() async throws {
        let ledger = try await Ledger.make("e2e_triage_suggestions")
        defer { Task { await ledger.close() } }
        let id = try await ledger.submit([CaseInput(text: "你好，请问一下", taskForce: .triage)])[0].caseID
        let desk = try await TestDatabase.login(["taskforce_dispatcher"], on: ledger.database)
        let list = try Self.dispatcher(["triage", "list"], as: desk)
        #expect(list.status == 0, "\(list.output)")
        let line = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix("\(id)\t") }, "\(list.output)")
        let fields = line.split(separator: "\t")
        let suggested = try #require(fields.first { $0.hasPrefix("suggested: ") }, "\(line)")
        // After the suggestions, at most a co-handling partner of the first one.
        if let last = fields.last, last != suggested {
            #expect(last.hasPrefix("co-handling: ") && TaskForce(rawValue: String(last.dropFirst("co-handling: ".count))) != nil, "\(line)")
        }
        let names = suggested.dropFirst("suggested: ".count).split(separator: ",").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names.count == 3 && Set(names).count == 3 && !names.contains("triage"), "\(line)")
        #expect(names.allSatisfy { TaskForce(rawValue: $0) != nil }, "\(line)")
    }
}

/// The casework sweep as deployed: a periodic job of QueueCore in queue `casework`,
/// enqueued once per period by the maintenance leader and run by one maintainer process.
@Suite("Casework sweep, a periodic job under several maintainers")
struct CaseworkSweepProcessTests {
    @Test("two maintainers: a breached top-level case is supervised once per clock, and each period's sweep runs once")
    func sweepRunsOncePerPeriod() async throws {
        let ledger = try await Ledger.make("e2e_casework_sweep")
        defer { Task { await ledger.close() } }
        let id = try await ledger.submit([CaseInput(text: "政府拖欠工程款", taskForce: .credit)])[0].caseID
        try await ledger.holdForPeople(id)
        try await ledger.connection.query(
            "UPDATE cases SET signoff_due_at = now() - interval '1 minute', due_at = now() - interval '1 second' WHERE id = $1", id)

        let maintainers = try await (0..<2).asyncMap { n in
            try WorkerProcess(as: try await ledger.maintainerLogin(),
                              ["--maintenance-only", "--name", "sweeper-\(n)", "--casework-sweep", "1s"])
        }
        let supervised = await eventually {
            let count = try await ledger.count("SELECT supervised_count FROM cases WHERE id = $1", id)
            let sweeps = try await ledger.count("SELECT count(*) FROM queue_job_archive WHERE kind = 'casework.sweep'")
            return count == 2 && sweeps >= 4
        }
        for maintainer in maintainers { maintainer.terminate() }
        for maintainer in maintainers { _ = await maintainer.wait(timeout: 30) }
        #expect(supervised, "\(maintainers.map { $0.output.suffix(1500) })")
        #expect(try await ledger.events(of: id, type: "supervised").count == 2)
        #expect(try await ledger.events(of: id, type: "deadline_breached").count == 2)
        // One job per period: the periods' keys are all different, and no sweep failed.
        #expect(try await ledger.count("""
            SELECT count(*) - count(DISTINCT unique_key) FROM (
                SELECT unique_key FROM queue_job_archive WHERE kind = 'casework.sweep'
                UNION ALL SELECT unique_key FROM queue_jobs WHERE kind = 'casework.sweep') j
            """) == 0)
        #expect(try await ledger.count("SELECT count(*) FROM queue_jobs WHERE kind = 'casework.sweep' AND state IN ('discarded', 'retryable')") == 0)
        #expect(try await ledger.count("SELECT count(*) FROM queue_periodic WHERE name IN ('casework-sweep', 'calendar-check')") == 2)
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var values: [T] = []
        for element in self { values.append(try await transform(element)) }
        return values
    }
}
