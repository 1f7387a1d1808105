import Foundation
import CaseLedger
import PostgresClient
import QueueCore
import Subprocess
import TaskForces
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Reads the case a job is about.
struct CaseLoader: Sendable {
    let pool: ConnectionPool

    /// The case behind a job, as JSON-ready facts and its state; `nil` when the case is gone.
    func load(_ job: Job) async throws -> (facts: CaseFacts, document: [String: Any], state: CaseState)? {
        let caseJob = try job.decodePayload(CaseJob.self)
        let row = try await pool.withConnection { try await $0.query(WorkerQueries.caseFacts, caseJob.caseID).first }
        guard let row else { return nil }
        let state = try CaseState(stored: try row.decode("state"), caseID: caseJob.caseID)
        let facts = CaseFacts(
            caseID: caseJob.caseID, text: try row.decode("text"), taskForce: try TaskForce(parsing: try row.decode("task_force")),
            language: TextScript(rawValue: try row.decode("language")) ?? .simplified, escalationLevel: try row.decode("escalation_level"),
            repeatCount: try row.decode("repeat_count"), routingSource: try row.decode("routing_source"), enterprise: try row.decode("enterprise"))
        let document: [String: Any] = [
            "case_id": caseJob.caseID, "job_id": job.id, "attempt": job.attempt, "level": caseJob.level,
            "task_force": facts.taskForce.rawValue, "text": facts.text, "language": facts.language.rawValue,
            "enterprise": facts.enterprise ?? NSNull(), "contact": (try row.decode("contact", as: String?.self)) ?? NSNull(),
            "channel": try row.decode("channel", as: String.self), "kind": (try row.decode("kind", as: String?.self)) ?? NSNull(),
            "urgent": try row.decode("urgent", as: Bool.self), "repeat_count": facts.repeatCount,
            "received_at": PostgresTimestamp.format(try row.decode("received_at")),
            "due_at": (try row.decode("due_at", as: Date?.self)).map(PostgresTimestamp.format) ?? NSNull(),
            "state": state.rawValue,
        ]
        return (facts, document, state)
    }
}

/// The department handlers a worker can run.
package enum CaseHandlerKind: Sendable, Equatable {
    /// The built-in advisor (``CaseAdvisor``).
    case advisor
    /// An external program: the case as JSON on stdin, one JSON resolution on stdout.
    /// It runs with ``HandlerEnvironment`` only: never the worker's database secrets.
    case exec(command: String, environment: HandlerEnvironment = .scrubbed())

    package var name: String {
        switch self {
        case .advisor: return "advisor"
        case .exec: return "exec"
        }
    }
}

enum CaseHandlers {
    /// A handler for case jobs. Cases no longer open are completed without a resolution.
    /// - Parameters:
    ///   - scrub: masks secrets in what a program wrote before it becomes a job error.
    static func make(_ kind: CaseHandlerKind, loader: CaseLoader, advisor: CaseAdvisor, fence: LeaseFence? = nil,
                     scrub: @escaping @Sendable (String) -> String) -> JobHandler {
        switch kind {
        case .advisor:
            return { job in
                guard let (facts, _, state) = try await loader.load(job), state == .open else {
                    return .completed(result: nil)
                }
                return .completed(result: advisor.advise(facts).json())
            }
        case .exec(let command, let environment):
            return { job in
                guard let (_, document, state) = try await loader.load(job), state == .open else {
                    return .completed(result: nil)
                }
                return .completed(result: try await ExecHandler.run(
                    command: command, document: document, environment: environment.with(job: job), fence: fence, scrub: scrub).json())
            }
        }
    }
}

/// Runs a department's own program for one case.
///
/// The program gets the case as JSON on stdin (from a file, so it may read it or not)
/// and must print one JSON resolution on stdout (its last line). It runs in a session of
/// its own under a watchdog shell; when the job is cancelled (time limit, shutdown, lost
/// lease) its whole process group gets SIGTERM, then SIGKILL two seconds later; when
/// the worker dies, or when the worker's leases lapse unrenewed (``LeaseFence``: the
/// worker is frozen or cut off), the watchdog kills the group.
package enum ExecHandler {

    /// The most of a program's stderr kept in a job error (its end, where the reason usually is).
    package static let stderrTailLimit = 2_000

    /// Runs `command` (through `/bin/sh -c`) for a case document.
    /// - Parameters:
    ///   - command: the shell command.
    ///   - document: the case, sent as JSON on stdin.
    ///   - environment: the program's whole environment.
    ///   - scrub: applied to the program's stderr before it goes into an error (and from
    ///     there into the job's errors, the ledger, logs and dashboards).
    ///   - fence: the worker's lease horizon; the watchdog kills the program once it passes.
    package static func run(command: String, document: [String: Any], environment: HandlerEnvironment = .scrubbed(),
                           fence: LeaseFence? = nil, scrub: @Sendable (String) -> String = { $0 }) async throws -> Resolution {
        let input = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        // The case goes in through a file, not a pipe: a program that exits or stops
        // reading early can then never raise SIGPIPE in the worker, nor leave a write
        // blocked on a full pipe; it reads at its own pace.
        let stdin = try caseFile(input)
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [
            .gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2)),
            .send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(500)),
        ]
        let (executable, arguments) = launch(command, fenceFile: fence?.path)
        let result = try await Subprocess.run(
            .path(FilePath(executable)), arguments: Arguments(arguments), environment: environment.subprocessEnvironment,
            platformOptions: options,
            input: .fileDescriptor(stdin, closeAfterSpawningProcess: true), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let stderr = result.standardError
        // Scrubbed whole, then cut: a secret cannot survive by straddling the cut.
        let tail = String(scrub(stderr).suffix(stderrTailLimit)).trimmingCharacters(in: .whitespacesAndNewlines)
        guard case .exited(0) = result.terminationStatus else {
            throw HandlerError(code: .exited, reason: "handler \(describe(result.terminationStatus))", stderrTail: tail)
        }
        do {
            return try Resolution.parse(result.standardOutput)
        } catch {
            throw HandlerError(code: .invalidOutput, reason: scrub("invalid handler output: \(error)"), stderrTail: tail)
        }
    }

    /// Writes the case document to a temporary file, unlinks it at once (nothing stays on
    /// disk, nobody else can open it) and returns it open for reading from the start.
    static func caseFile(_ data: Data) throws -> FileDescriptor {
        var template = Array((NSTemporaryDirectory() + "taskforce-case-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw HandlerError(code: .io, reason: "cannot create the handler's input file: errno \(errno)", stderrTail: "") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let file = FileDescriptor(rawValue: fd)
        do {
            _ = try file.writeAll(data)
            _ = try file.seek(offset: 0, from: .start)
        } catch {
            try? file.close()
            throw HandlerError(code: .io, reason: "cannot write the handler's input file: \(error)", stderrTail: "")
        }
        return file
    }

    /// The watchdog: a shell that leads the process group Subprocess signals, and runs
    /// the command in a session of its own (`setsid`), so that it can account for every
    /// process the command leaves:
    /// - SIGTERM (time limit, shutdown, lost or fenced lease) is forwarded to the
    ///   command's session, and whatever of it is still there 1.5 s later is killed —
    ///   before Subprocess's own SIGKILL to the watchdog's group at 2 s. (Before, a
    ///   command's shell dying on SIGTERM let the watchdog exit at once, while a script
    ///   under it that ignored SIGTERM ran on, orphaned, holding its slot.)
    /// - When the command's own shell exits, anything it left behind in its session
    ///   (background processes) is killed.
    /// - A guard, in a session of its own so that no signal to the watchdog's group can
    ///   stop it, kills the command's session when the worker is gone (`kill -9`, the
    ///   OOM killer), when the watchdog itself is gone, or when the worker's lease
    ///   horizon has passed (`$2`, a ``LeaseFence`` file holding a Unix time in
    ///   milliseconds, read twice a second): a worker frozen by SIGSTOP, or cut off from
    ///   the database, cannot renew its leases, and its handlers must be gone before the
    ///   jobs are rescued and run elsewhere.
    /// A parent-death signal (`PR_SET_PDEATHSIG`) is not used: it follows the spawning
    /// thread, not the process, and pool threads come and go.
    /// `$0` is the command, `$1` the worker's process id, `$2` the fence file (or empty).
    static let watchdog = """
        terminated=0
        trap 'terminated=1; kill -TERM "-$child" 2>/dev/null; ( sleep 1.5; kill -KILL "-$child" ) </dev/null >/dev/null 2>&1 &' TERM INT HUP
        exec 3<&0
        setsid /bin/sh -c "$0" <&3 3<&- &
        child=$!
        exec 3<&-
        setsid /bin/sh -c '
          trap "" TERM INT HUP
          while kill -0 "$1" 2>/dev/null && kill -0 "$3" 2>/dev/null; do
            if [ -n "$2" ] && read -r horizon < "$2" 2>/dev/null && [ -n "$horizon" ] && [ "$(date +%s%3N)" -ge "$horizon" ]; then break; fi
            sleep 0.5
          done
          kill -KILL "-$4" 2>/dev/null' guard "$1" "$2" "$$" "$child" </dev/null >/dev/null 2>&1 &
        guard=$!
        status=0
        while :; do
          wait "$child"; status=$?
          kill -0 "$child" 2>/dev/null || break
        done
        if [ "$terminated" = 1 ]; then
          n=0
          while kill -0 "-$child" 2>/dev/null && [ "$n" -lt 15 ]; do sleep 0.1; n=$((n + 1)); done
        fi
        kill -KILL "-$child" 2>/dev/null
        kill -KILL "$guard" 2>/dev/null
        exit "$status"
        """

    static func launch(_ command: String, fenceFile: String? = nil) -> (executable: String, arguments: [String]) {
        ("/bin/sh", ["-c", watchdog, command, String(getpid()), fenceFile ?? ""])
    }

    static func describe(_ status: TerminationStatus) -> String {
        switch status {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "was killed by signal \(signal)"
        }
    }
}

/// The environment an exec handler runs with: an allow-list of the worker's own
/// variables (locale, time zone, PATH, HOME, temp dir, user) plus any the operator
/// passes by name. The database's secrets never reach it: `DATABASE_URL` and every
/// `PG*` variable are refused even when asked for.
package struct HandlerEnvironment: Sendable, Equatable {
    /// Passed through from the worker when set.
    package static let allowList = ["PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR", "USER", "LOGNAME"]

    /// The variables, name to value.
    package let variables: [String: String]

    /// A name that may never be passed to a handler.
    package static func isSecret(_ name: String) -> Bool {
        name == "DATABASE_URL" || name.hasPrefix("PG")
    }

    /// The allow-list plus `extra` names, read from `environment`.
    /// - Parameters:
    ///   - extra: further variable names the handler needs (`worker --handler-env NAME`).
    ///   - environment: where values come from (the worker's own environment by default).
    package static func scrubbed(passing extra: [String] = [], from environment: [String: String] = ProcessInfo.processInfo.environment) -> HandlerEnvironment {
        var variables: [String: String] = [:]
        for name in allowList + extra where !isSecret(name) {
            if let value = environment[name] { variables[name] = value }
        }
        if variables["PATH"] == nil { variables["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        return HandlerEnvironment(variables: variables)
    }

    init(variables: [String: String]) { self.variables = variables }

    /// These variables plus the job's identity, so a handler can make its side effects
    /// idempotent: `TASKFORCE_JOB_ID`, `TASKFORCE_JOB_ATTEMPT` and `TASKFORCE_LEASE`
    /// (the attempt's lease token, unique per attempt).
    package func with(job: Job) -> HandlerEnvironment {
        var variables = variables
        variables["TASKFORCE_JOB_ID"] = String(job.id)
        variables["TASKFORCE_JOB_ATTEMPT"] = String(job.attempt)
        variables["TASKFORCE_LEASE"] = job.lease.token.uuidString.lowercased()
        return HandlerEnvironment(variables: variables)
    }

    var subprocessEnvironment: Subprocess.Environment {
        .custom(variables.sorted { $0.key < $1.key }.map { Array("\($0.key)=\($0.value)\u{0}".utf8) })
    }
}

/// The worker's lease horizon, published for its exec handlers' watchdogs: a file
/// holding the Unix time in milliseconds by which every handler must be
/// gone unless the leases are renewed. The runtime rewrites it (atomically, by rename)
/// after every claim, heartbeat and fence; an empty file means nothing is held.
package final class LeaseFence: Sendable {
    package let path: String

    /// A fence file for this process in the temporary directory.
    package init(directory: String = NSTemporaryDirectory()) {
        path = (directory as NSString).appendingPathComponent("taskforce-fence-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        publish(nil)
    }

    /// Writes the horizon (nil: nothing held, no limit).
    package func publish(_ horizon: Date?) {
        let text = horizon.map { String(Int64(($0.timeIntervalSince1970 * 1000).rounded(.down))) } ?? ""
        let temporary = path + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((text + "\n").utf8)) else { return }
        _ = rename(temporary, path)
    }

    /// Removes the file.
    package func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
