import CaseLedger
import Foundation
import PostgresClient
import PostgresTestSupport
import TaskForces
import Testing

/// Milliseconds since the epoch, as the handler scripts write them (`date +%s%3N`).
private func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

@Suite("Worker processes: frozen workers, hostile handlers, final counts, import exit codes")
struct HardCaseProcessTests {
    @Test("a worker frozen by SIGSTOP: its handler is killed before the lease lapses, the job runs once elsewhere, no side effect after")
    func frozenWorkerIsFenced() async throws {
        let ledger = try await Ledger.make("e2e_sigstop")
        defer { Task { await ledger.close() } }
        let effects = NSTemporaryDirectory() + "effects-\(UUID().uuidString).log"
        #expect(FileManager.default.createFile(atPath: effects, contents: nil))
        // The first attempt writes a side effect every 0.2 s and never ends by itself.
        let script = try handlerScript("""
            cat > /dev/null
            echo "start $TASKFORCE_JOB_ATTEMPT $(date +%s%3N)" >> \(effects)
            if [ "$TASKFORCE_JOB_ATTEMPT" = 1 ]; then
              while :; do echo "effect 1 $(date +%s%3N)" >> \(effects); sleep 0.2; done
            fi
            echo '{"outcome": "resolved", "summary": "done", "measures": [9]}'
            """)
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let tax = try await ledger.workerLogin([.tax])
        let maintainer = try await WorkerProcess.maintainer(ledger)
        let frozen = try WorkerProcess(as: tax, ["--task-force", "tax", "--handler", "exec", "--exec", script, "--lease", "3s",
                                                 "--time-limit", "10m", "--name", "frozen"])
        #expect(await eventually { (try String(contentsOfFile: effects, encoding: .utf8)).contains("effect 1") }, "\(frozen.output.suffix(2000))")
        kill(frozen.process.processIdentifier, SIGSTOP)
        let frozenAt = nowMilliseconds()
        let survivor = try WorkerProcess(as: tax, ["--task-force", "tax", "--handler", "exec", "--exec", script, "--lease", "3s", "--name", "survivor"])
        let resolved = await eventually(timeout: .seconds(40)) { try await ledger.state(of: outcome.caseID) == "resolved" }
        kill(frozen.process.processIdentifier, SIGCONT)
        frozen.terminate()
        survivor.terminate()
        maintainer.terminate()
        #expect(await frozen.wait(timeout: 30) == 0, "\(frozen.output.suffix(2000))")
        _ = await survivor.wait(timeout: 30)
        _ = await maintainer.wait(timeout: 30)
        #expect(resolved, "\(survivor.output.suffix(2000))")
        let lines = try String(contentsOfFile: effects, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        let secondStart = try #require(lines.first { $0.first == "start" && $0[1] == "2" }.flatMap { Int64($0[2]) })
        let lastEffect = try #require(lines.filter { $0.first == "effect" }.compactMap { Int64($0[2]) }.max())
        #expect(lastEffect < secondStart, "attempt 1 wrote a side effect \(lastEffect - secondStart) ms after attempt 2 started")
        #expect(lastEffect - frozenAt < 3_000, "the frozen worker's handler stopped within its lease")
        #expect(lines.filter { $0.first == "start" }.count == 2)
        #expect(try await ledger.count("SELECT count(*) FROM resolutions WHERE case_id = $1", outcome.caseID) == 1)
        #expect(try await ledger.connection.query("SELECT worker FROM resolutions").first?.decode(0, as: String.self) == "survivor")
    }

    @Test("a script that ignores SIGTERM under a shell that does not is still killed at its time limit, and its slot freed")
    func termIgnoringScriptIsKilled() async throws {
        let ledger = try await Ledger.make("e2e_ignore_term")
        defer { Task { await ledger.close() } }
        let marker = "ignoreterm\(UInt32.random(in: 10_000...99_999))"
        // The worker runs `/bin/sh -c COMMAND`; that shell dies on SIGTERM, the script
        // under it does not. Attempt 1 hangs so; attempt 2 answers.
        let inner = try handlerScript("""
            cat > /dev/null
            if [ "$TASKFORCE_JOB_ATTEMPT" = 1 ]; then trap '' TERM; while :; do sleep 1; done; fi
            echo '{"outcome": "resolved", "summary": "second attempt", "measures": [9]}'
            """)
        let command = "/bin/sh \(inner) \(marker)"
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let maintainer = try await WorkerProcess.maintainer(ledger)
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]),
                                       ["--task-force", "tax", "--handler", "exec", "--exec", command, "--time-limit", "1s", "--concurrency", "1"])
        let resolved = await eventually(timeout: .seconds(40)) { try await ledger.state(of: outcome.caseID) == "resolved" }
        worker.terminate()
        maintainer.terminate()
        _ = await worker.wait(timeout: 30)
        _ = await maintainer.wait(timeout: 30)
        #expect(resolved, "the slot was freed for the retry: \(worker.output.suffix(2000))")
        #expect(try await ledger.events(of: outcome.caseID, type: "attempt_failed").first?.contains("time limit exceeded") == true)
        #expect(await eventually(timeout: .seconds(5)) { WorkerProcessTests.processes(matching: "/bin/sh \(inner) \(marker)") == 0 },
                "the script that ignored SIGTERM outlived its attempt")
    }

    @Test("a handler flooding stdout and stderr fails its attempt with a clear error; the worker lives and nothing is left running")
    func floodingHandler() async throws {
        let ledger = try await Ledger.make("e2e_flood")
        defer { Task { await ledger.close() } }
        let marker = "flood\(UInt32.random(in: 10_000...99_999))"
        let script = try handlerScript("""
            cat > /dev/null
            yes \(marker) >&2 &
            yes \(marker)
            """)
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--handler", "exec", "--exec", script])
        let failed = await eventually { try await ledger.events(of: outcome.caseID, type: "attempt_failed").count >= 1 }
        #expect(failed, "\(worker.output.suffix(2000))")
        #expect(worker.process.isRunning, "the worker died: \(worker.output.suffix(2000))")
        let failure = try await ledger.events(of: outcome.caseID, type: "attempt_failed").first ?? ""
        #expect(failure.contains("output"), "\(failure.prefix(500))")
        #expect(failure.utf8.count < 10_000, "the error is bounded")
        worker.terminate()
        #expect(await worker.wait(timeout: 30) == 0)
        #expect(await eventually(timeout: .seconds(10)) { WorkerProcessTests.processes(matching: "yes \(marker)") == 0 }, "a flooding process outlived its attempt")
    }

    @Test("a stopped worker's row holds its final count of completed jobs, not the last heartbeat's")
    func finalCountsAtStop() async throws {
        let ledger = try await Ledger.make("e2e_final_counts")
        defer { Task { await ledger.close() } }
        let outcomes = try await ledger.submit((0..<6).map { CaseInput(text: "退税第\($0)号没到账", taskForce: .tax) })
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--name", "counted"])
        let ids = outcomes.map(\.caseID)
        #expect(await eventually { try await ledger.count("SELECT count(*) FROM cases WHERE id = ANY($1) AND state <> 'open'", ids) == 6 })
        worker.terminate()
        #expect(await worker.wait(timeout: 30) == 0)
        let row = try #require(try await ledger.connection.query("SELECT completed_jobs, running_jobs, stopped_at IS NOT NULL FROM workers WHERE name = 'counted'").first)
        #expect(try row.decode(0, as: Int.self) == 6)
        #expect(try row.decode(1, as: Int.self) == 0)
        #expect(try row.decode(2, as: Bool.self))
    }

    @Test("dispatcher import exits 2 when rows were rejected, 1 when it could not run, 0 when all is in; a re-run stores nothing twice")
    func importExitCodes() async throws {
        let ledger = try await Ledger.make("e2e_import_exit")
        defer { Task { await ledger.close() } }
        let login = try await TestDatabase.login(["taskforce_dispatcher"], on: ledger.database)
        func dispatcher(_ arguments: [String], url: String) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = Shared.productsDirectory.appending(path: "dispatcher")
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
            environment["DATABASE_URL"] = url
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let good = NSTemporaryDirectory() + "good-\(UUID().uuidString).jsonl"
        try "{\"text\": \"退税没到账\"}\n{\"text\": \"工厂停电三天\"}\n".write(toFile: good, atomically: true, encoding: .utf8)
        let mixed = NSTemporaryDirectory() + "mixed-\(UUID().uuidString).csv"
        try "text,urgent\r\n贷款到期,\"yes\"\r\n\"never closed,no\r\n融资难,no\r\n".write(toFile: mixed, atomically: true, encoding: .utf8)
        #expect(try dispatcher(["import", good, "--plain"], url: login.url).0 == 0)
        let (status, output) = try dispatcher(["import", mixed, "--plain"], url: login.url)
        #expect(status == 2, "\(output)")
        #expect(output.contains("rejected line 3"), "\(output)")
        #expect(try dispatcher(["import", mixed, "--plain"], url: login.url).0 == 2)
        #expect(try await ledger.count("SELECT count(*) FROM cases") == 4, "the re-run stored nothing twice")
        let unreachable = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
        let (down, message) = try dispatcher(["import", good, "--plain"], url: unreachable)
        #expect(down == 1, "\(message)")
        #expect(try dispatcher(["import", "/nonexistent.jsonl"], url: login.url).0 == 1)
    }
}
