import CaseLedger
import CaseWorker
import Foundation
import PostgresClient
import QueueCore
import TaskForces
import Testing

/// Every process runs as it is deployed: department workers under their department's
/// login (row-level security applies), maintenance under a maintainer login.
@Suite("Worker processes, end to end", .serialized)
struct WorkerProcessTests {
    @Test("three worker processes over 300 cases: every case ends resolved or escalated, exactly once")
    func severalWorkersManyCases() async throws {
        let ledger = try await Ledger.make("e2e_many")
        defer { Task { await ledger.close() } }
        let texts = [
            "增值税留抵退税申请两个月了还没到账", "工厂停电两天了，请尽快恢复供电", "The bank refuses to renew our working-capital loan",
            "Work permit for our Korean engineer is stuck", "高新技术企业认定材料怎么准备", "區政府拖欠我們工程款三百萬元已經兩年",
            "The court judgment in our favour has not been enforced", "出口退税一直没有到账，影响资金周转",
        ]
        let inputs = (0..<300).map { CaseInput(text: "\(texts[$0 % texts.count])（第\($0)号）", externalID: "e2e-\($0)") }
        let outcomes = try await ledger.submit(inputs)
        let routed = outcomes.filter { $0.taskForce != .triage }.map(\.caseID)
        let login = try await ledger.workerLogin(TaskForce.departments)
        let maintainer = try await WorkerProcess.maintainer(ledger)
        let workers = try (0..<3).map { try WorkerProcess(as: login, ["--task-force", "all", "--concurrency", "4", "--name", "many-\($0)"]) } + [maintainer]
        let settled = await eventually(timeout: .seconds(90)) { try await ledger.count("SELECT count(*) FROM cases WHERE state = 'open'") == 0 }
        for worker in workers { worker.terminate() }
        for worker in workers { #expect(await worker.wait(timeout: 30) == 0, "\(worker.output.suffix(2000))") }
        #expect(settled)
        #expect(try await ledger.count("SELECT count(*) FROM cases WHERE id = ANY($1) AND state NOT IN ('resolved', 'signoff', 'rejected', 'triage')", routed) == 0)
        // Exactly one closing event per closed case, and never two resolutions of one job.
        #expect(try await ledger.count("""
            SELECT count(*) FROM (SELECT case_id FROM case_events WHERE type IN ('resolved', 'rejected')
                                  GROUP BY case_id HAVING count(*) > 1) twice
            """) == 0)
        #expect(try await ledger.count("SELECT count(*) FROM resolutions") == (try await ledger.count("SELECT count(DISTINCT job_id) FROM resolutions")))
        #expect(try await ledger.count("SELECT count(*) FROM cases c WHERE c.state = 'resolved' AND NOT EXISTS (SELECT 1 FROM resolutions r WHERE r.case_id = c.id AND r.outcome = 'resolved')") == 0)
        #expect(try await ledger.count("SELECT count(DISTINCT worker) FROM resolutions") >= 2)
        #expect(try await ledger.count("SELECT count(*) FROM workers WHERE stopped_at IS NOT NULL") == 4)
        // Every event a worker wrote carries the worker's login, set by the database.
        #expect(try await ledger.count("SELECT count(*) FROM case_events WHERE type = 'claimed' AND login IS DISTINCT FROM $1", login.name) == 0)
    }

    @Test("an exec handler that hangs is killed at its time limit (whole process group) and retried")
    func hangingHandlerIsKilled() async throws {
        let ledger = try await Ledger.make("e2e_hang")
        defer { Task { await ledger.close() } }
        // A unique sleep duration marks the handler's processes for pgrep.
        let marker = "sleep 300.\(UInt32.random(in: 10_000...99_999))"
        let script = try handlerScript("""
            input=$(cat)
            case "$input" in
              *'"attempt":1,'*) \(marker) & \(marker) ; exit 0 ;;
            esac
            echo '{"outcome": "resolved", "summary": "second attempt worked", "measures": [9]}'
            """)
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let maintainer = try await WorkerProcess.maintainer(ledger)
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--handler", "exec", "--exec", script, "--time-limit", "1s"])
        let resolved = await eventually(timeout: .seconds(40)) { try await ledger.state(of: outcome.caseID) == "resolved" }
        worker.terminate()
        maintainer.terminate()
        _ = await worker.wait(timeout: 30)
        _ = await maintainer.wait(timeout: 30)
        #expect(resolved, "\(worker.output.suffix(2000))")
        let failures = try await ledger.events(of: outcome.caseID, type: "attempt_failed")
        #expect(failures.count == 1)
        #expect(failures.first?.contains("time limit exceeded after 1 s") == true)
        #expect(try await ledger.count("SELECT count(*) FROM resolutions WHERE case_id = $1", outcome.caseID) == 1)
        // Nothing of the killed attempt survives: its process group was terminated.
        let survivors = Process()
        survivors.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        survivors.arguments = ["-f", marker]
        try survivors.run()
        survivors.waitUntilExit()
        #expect(survivors.terminationStatus == 1, "a process of the timed-out handler is still running")
    }

    @Test("an exec handler that prints garbage fails its attempt with the reason and its stderr kept")
    func garbageOutputFails() async throws {
        let ledger = try await Ledger.make("e2e_garbage")
        defer { Task { await ledger.close() } }
        let script = try handlerScript("""
            cat > /dev/null
            echo 'connecting to the legacy system: error 42' >&2
            echo 'this is not json'
            """)
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--handler", "exec", "--exec", script])
        let failed = await eventually { try await ledger.events(of: outcome.caseID, type: "attempt_failed").count >= 1 }
        worker.terminate()
        _ = await worker.wait(timeout: 30)
        #expect(failed)
        let failure = try await ledger.events(of: outcome.caseID, type: "attempt_failed").first ?? ""
        #expect(failure.contains("invalid handler output"))
        #expect(failure.contains("legacy system: error 42"))
        #expect(try await ledger.state(of: outcome.caseID) == "open")
        #expect(try await ledger.count("SELECT count(*) FROM resolutions") == 0)
    }

    @Test("a worker killed with SIGKILL mid-job loses nothing: the job is rescued and resolved once")
    func sigkillLosesNothing() async throws {
        let ledger = try await Ledger.make("e2e_sigkill")
        defer { Task { await ledger.close() } }
        let script = try handlerScript("""
            cat > /dev/null
            sleep 2
            echo '{"outcome": "resolved", "summary": "done", "measures": [9]}'
            """)
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let tax = try await ledger.workerLogin([.tax])
        let maintainer = try await WorkerProcess.maintainer(ledger)
        let doomed = try WorkerProcess(as: tax, ["--task-force", "tax", "--handler", "exec", "--exec", script, "--lease", "1s", "--name", "doomed"])
        // The tax queue's (the maintainer runs the casework's periodic jobs in its own queue meanwhile).
        #expect(await eventually { try await ledger.count("SELECT count(*) FROM queue_jobs WHERE queue = 'tax' AND state = 'running'") == 1 })
        doomed.killHard()
        _ = await doomed.wait(timeout: 10)
        let survivor = try WorkerProcess(as: tax, ["--task-force", "tax", "--handler", "exec", "--exec", script, "--lease", "1s", "--name", "survivor"])
        let resolved = await eventually(timeout: .seconds(40)) { try await ledger.state(of: outcome.caseID) == "resolved" }
        survivor.terminate()
        maintainer.terminate()
        _ = await survivor.wait(timeout: 30)
        _ = await maintainer.wait(timeout: 30)
        #expect(resolved, "\(survivor.output.suffix(2000))")
        #expect(try await ledger.count("SELECT count(*) FROM resolutions WHERE case_id = $1", outcome.caseID) == 1)
        #expect(try await ledger.connection.query("SELECT worker FROM resolutions").first?.decode(0, as: String.self) == "survivor")
        let errors = try await ledger.connection.query("SELECT errors::text FROM queue_job_archive WHERE queue = 'tax'").first?.decode(0, as: String.self) ?? ""
        #expect(errors.contains("lease expired"))
    }

    @Test("SIGTERM drains: the running case finishes, the process exits cleanly, nothing is left running")
    func sigtermDrains() async throws {
        let ledger = try await Ledger.make("e2e_sigterm")
        defer { Task { await ledger.close() } }
        let script = try handlerScript("""
            cat > /dev/null
            sleep 2
            echo '{"outcome": "resolved", "summary": "finished while draining"}'
            """)
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--handler", "exec", "--exec", script, "--grace", "20s"])
        #expect(await eventually { try await ledger.count("SELECT count(*) FROM queue_jobs WHERE state = 'running'") == 1 })
        worker.terminate()
        #expect(await worker.wait(timeout: 30) == 0, "\(worker.output.suffix(2000))")
        #expect(try await ledger.state(of: outcome.caseID) == "resolved")
        #expect(try await ledger.count("SELECT count(*) FROM queue_jobs") == 0)
        #expect(try await ledger.count("SELECT count(*) FROM workers WHERE stopped_at IS NOT NULL") == 1)
    }

    @Test("a handler's reroute under a department login commits: the other department's login claims and resolves the case")
    func rerouteLandsInOtherQueue() async throws {
        let ledger = try await Ledger.make("e2e_reroute")
        defer { Task { await ledger.close() } }
        // The tax department's program sends litigation to legal; legal's program resolves it.
        let script = try handlerScript("""
            input=$(cat)
            case "$input" in
              *'"task_force":"tax"'*) echo '{"outcome": "reroute", "reroute_to": "legal", "summary": "a lawsuit: legal handles litigation"}' ;;
              *) echo '{"outcome": "resolved", "summary": "legal took the lawsuit", "measures": [9]}' ;;
            esac
            """)
        let outcome = try await ledger.submit([CaseInput(text: "对方起诉我们合同违约", taskForce: .tax)])[0]
        let tax = try await ledger.workerLogin([.tax])
        let legal = try await ledger.workerLogin([.legal])
        let taxWorker = try WorkerProcess(as: tax, ["--task-force", "tax", "--handler", "exec", "--exec", script, "--name", "tax-1"])
        let moved = await eventually { try await ledger.count("SELECT count(*) FROM cases WHERE id = $1 AND task_force = 'legal'", outcome.caseID) == 1 }
        #expect(moved, "\(taxWorker.output.suffix(2000))")
        let legalWorker = try WorkerProcess(as: legal, ["--task-force", "legal", "--handler", "exec", "--exec", script, "--name", "legal-1"])
        let resolved = await eventually { try await ledger.state(of: outcome.caseID) == "resolved" }
        for worker in [taxWorker, legalWorker] { worker.terminate() }
        for worker in [taxWorker, legalWorker] { _ = await worker.wait(timeout: 30) }
        #expect(resolved, "\(legalWorker.output.suffix(2000))")
        // No attempt failed on the way (today's RLS defect made every reroute fail).
        #expect(try await ledger.events(of: outcome.caseID, type: "attempt_failed").isEmpty, "\(taxWorker.output.suffix(2000))")
        #expect(try await ledger.count("SELECT count(*) FROM routing_corrections WHERE case_id = $1 AND to_task_force = 'legal' AND login = $2",
                                       outcome.caseID, tax.name) == 1)
        // The ledger tells who did what, by login: tax claimed and rerouted, legal claimed and resolved.
        let rows = try await ledger.connection.query(
            "SELECT type, login::text FROM case_events WHERE case_id = $1 AND type IN ('claimed', 'rerouted', 'resolved') ORDER BY id", outcome.caseID)
        let trail = try rows.map { "\(try $0.decode(0, as: String.self)):\(try $0.decode(1, as: String.self))" }
        #expect(trail == ["claimed:\(tax.name)", "rerouted:\(tax.name)", "claimed:\(legal.name)", "resolved:\(legal.name)"])
        #expect(try await ledger.connection.query("SELECT worker FROM resolutions WHERE outcome = 'resolved'").first?.decode(0, as: String.self) == "legal-1")
    }

    @Test("a handler sent to triage under a department login commits, and the case waits for a person")
    func handlerSendsToTriage() async throws {
        let ledger = try await Ledger.make("e2e_triage")
        defer { Task { await ledger.close() } }
        let script = try handlerScript("""
            cat > /dev/null
            echo '{"outcome": "reroute", "reroute_to": "triage", "summary": "not a tax matter; a person must decide"}'
            """)
        let outcome = try await ledger.submit([CaseInput(text: "邻居装修太吵", taskForce: .tax)])[0]
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--handler", "exec", "--exec", script])
        let triaged = await eventually { try await ledger.state(of: outcome.caseID) == "triage" }
        worker.terminate()
        _ = await worker.wait(timeout: 30)
        #expect(triaged, "\(worker.output.suffix(2000))")
        #expect(try await ledger.events(of: outcome.caseID, type: "attempt_failed").isEmpty)
        #expect(try await ledger.count("SELECT count(*) FROM queue_jobs WHERE state IN ('available', 'running')") == 0)
    }

    @Test("an exec handler gets none of the worker's secrets, and what it prints is stored scrubbed")
    func handlerEnvironmentHoldsNoSecret() async throws {
        let ledger = try await Ledger.make("e2e_secrets")
        defer { Task { await ledger.close() } }
        let dump = NSTemporaryDirectory() + "handler-env-\(UUID().uuidString)"
        let tax = try await ledger.workerLogin([.tax])
        // The handler prints everything it can find, including the worker's own DATABASE_URL
        // if it could read it, and echoes the password it was told (to test the scrubbing).
        let script = try handlerScript("""
            cat > /dev/null
            env > '\(dump)'
            env >&2
            echo "connecting with password \(tax.password) failed" >&2
            exit 3
            """)
        let outcome = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])[0]
        let worker = try WorkerProcess(as: tax, ["--task-force", "tax", "--handler", "exec", "--exec", script, "--handler-env", "HANDLER_TOKEN_NAME"],
                                       extraEnvironment: ["PGPASSWORD": tax.password, "PGUSER": tax.name, "HANDLER_TOKEN_NAME": "visible"])
        let failed = await eventually { try await ledger.events(of: outcome.caseID, type: "attempt_failed").count >= 1 }
        worker.terminate()
        _ = await worker.wait(timeout: 30)
        #expect(failed, "\(worker.output.suffix(2000))")
        let environment = (try? String(contentsOfFile: dump, encoding: .utf8)) ?? ""
        #expect(environment.contains("PATH="))
        #expect(environment.contains("HANDLER_TOKEN_NAME=visible"))
        for secret in ["DATABASE_URL", "PGPASSWORD", "PGUSER", tax.password] {
            #expect(!environment.contains(secret), "the handler saw \(secret)")
        }
        // Its stderr reached the job's errors and the ledger scrubbed of the password.
        let stored = try await ledger.connection.query("""
            SELECT coalesce((SELECT string_agg(errors::text, ' ') FROM queue_jobs), '') || (SELECT string_agg(data::text, ' ') FROM case_events)
            """).first?.decode(0, as: String.self) ?? ""
        #expect(stored.contains("connecting with password *** failed"))
        #expect(!stored.contains(tax.password))
        #expect(!worker.output.contains(tax.password))
        try? FileManager.default.removeItem(atPath: dump)
    }

    @Test("a case larger than a pipe's buffer and a handler that never reads it cannot hurt the worker")
    func handlerThatIgnoresStdin() async throws {
        let ledger = try await Ledger.make("e2e_stdin")
        defer { Task { await ledger.close() } }
        // 20,000 control characters: about 120 KB of JSON, twice a pipe's buffer.
        let text = "退税" + String(repeating: "\u{07}", count: 19_990)
        let outcome = try await ledger.submit([CaseInput(text: text, taskForce: .tax)])[0]
        let script = try handlerScript("exit 3")
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--handler", "exec", "--exec", script])
        let failed = await eventually { try await ledger.events(of: outcome.caseID, type: "attempt_failed").count >= 1 }
        #expect(failed, "\(worker.output.suffix(2000))")
        #expect(worker.process.isRunning, "the worker died: \(worker.output.suffix(2000))")
        #expect(try await ledger.events(of: outcome.caseID, type: "attempt_failed").first?.contains("exited with status 3") == true)
        worker.terminate()
        #expect(await worker.wait(timeout: 30) == 0)
    }

    @Test("a handler's processes die with their worker: kill -9 of the worker leaves nothing running")
    func handlerDiesWithWorker() async throws {
        let ledger = try await Ledger.make("e2e_orphans")
        defer { Task { await ledger.close() } }
        let marker = "sleep 300.\(UInt32.random(in: 10_000...99_999))"
        let script = try handlerScript("cat > /dev/null; \(marker) & \(marker)")
        _ = try await ledger.submit([CaseInput(text: "退税没到账", taskForce: .tax)])
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax", "--handler", "exec", "--exec", script,
                                                                             "--time-limit", "10m"])
        #expect(await eventually { Self.processes(matching: marker) == 2 }, "\(worker.output.suffix(2000))")
        worker.killHard()
        _ = await worker.wait(timeout: 10)
        #expect(await eventually(timeout: .seconds(10)) { Self.processes(matching: marker) == 0 }, "a handler process outlived its worker")
    }

    /// How many processes have `pattern` in their command line.
    static func processes(matching pattern: String) -> Int {
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-c", "-f", "^" + pattern]
        let out = Pipe()
        pgrep.standardOutput = out
        try? pgrep.run()
        pgrep.waitUntilExit()
        return Int(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    @Test("a department login never leads maintenance: it could only rescue what it can see")
    func departmentLoginDoesNotLead() async throws {
        let ledger = try await Ledger.make("e2e_noleader")
        defer { Task { await ledger.close() } }
        let worker = try WorkerProcess(as: try await ledger.workerLogin([.tax]), ["--task-force", "tax"])
        let noticed = await eventually(timeout: .seconds(20)) { worker.output.contains("may not lead maintenance") }
        worker.terminate()
        #expect(await worker.wait(timeout: 30) == 0)
        #expect(noticed, "\(worker.output.suffix(2000))")
        #expect(try await ledger.count("SELECT count(*) FROM queue_leader") == 0)
    }

    @Test("a breached deadline escalates the case exactly once, through the leader's enforcer")
    func deadlineBreachEscalatesOnce() async throws {
        let ledger = try await Ledger.make("e2e_breach")
        defer { Task { await ledger.close() } }
        // Received a month ago: already past its deadline. No worker serves credit, so
        // only the deadline enforcer (run by the maintenance leader, a maintainer login) acts on it.
        let outcome = try await ledger.submit([CaseInput(text: "政府拖欠工程款", taskForce: .credit, receivedAt: Date().addingTimeInterval(-30 * 24 * 3600))])[0]
        let worker = try await WorkerProcess.maintainer(ledger)
        let escalated = await eventually { try await ledger.count("SELECT escalation_level FROM cases WHERE id = $1", outcome.caseID) == 1 }
        try await Task.sleep(for: .seconds(3))
        worker.terminate()
        _ = await worker.wait(timeout: 30)
        #expect(escalated, "\(worker.output.suffix(2000))")
        #expect(try await ledger.events(of: outcome.caseID, type: "deadline_breached").count == 1)
        #expect(try await ledger.events(of: outcome.caseID, type: "escalated").count == 1)
        #expect(try await ledger.events(of: outcome.caseID, type: "deadline_warning").count == 1)
        #expect(try await ledger.count("SELECT count(*) FROM queue_jobs WHERE queue = 'credit' AND state = 'available'") == 1)
        #expect(try await ledger.count("SELECT count(*) FROM queue_jobs WHERE queue = 'credit' AND state = 'cancelled'") == 1)
    }
}
