import CaseLedger
import Foundation
import PostgresClient
import PostgresTestSupport
import TaskForces

enum Shared {
    static let normalizer = try! TextNormalizer()
    static let policy = try! TimeLimitPolicy.bundledDefault()
    static let calendar = try! WorkCalendar.bundledDefault()
    static let intake = CaseIntake(
        classifier: RoutingClassifier(model: try! RoutingModel.bundled(), normalizer: normalizer),
        policy: policy, calendar: calendar)

    /// The folder holding the built `worker` executable (next to the test bundle).
    static let productsDirectory: URL = {
        var url = Bundle.main.bundleURL
        while url.pathComponents.count > 1, !FileManager.default.fileExists(atPath: url.appending(path: "worker").path) {
            url = url.deletingLastPathComponent()
        }
        return url
    }()
}

/// A database with the schema, plus helpers to take cases in and inspect them.
struct Ledger {
    let database: PostgresConfiguration
    let connection: PostgresConnection

    static func make(_ label: String) async throws -> Ledger {
        let database = try await TestDatabase.create(label)
        return Ledger(database: database, connection: try await PostgresConnection.connect(database))
    }

    @discardableResult
    func submit(_ inputs: [CaseInput]) async throws -> [IntakeOutcome] {
        let prepared = try inputs.map { try Shared.intake.prepare($0) }
        return try await connection.transaction { try await Shared.intake.store(prepared, on: $0) }
    }

    func count(_ sql: String, _ parameters: any PostgresEncodable...) async throws -> Int {
        try await connection.query(sql, parameters: parameters).first!.decode(0, as: Int.self)
    }

    func state(of caseID: Int64) async throws -> String {
        try await connection.query("SELECT state::text FROM cases WHERE id = $1", caseID).first!.decode(0)
    }

    func events(of caseID: Int64, type: String) async throws -> [String] {
        try await connection.query("SELECT data::text FROM case_events WHERE case_id = $1 AND type = $2 ORDER BY id", caseID, type)
            .map { try $0.decode(0) }
    }

    func close() async { await connection.close() }

    /// Escalates a case past its handlers (levels 0 → 1 → 2), as the deadline enforcer
    /// would: at the top it is held for the task force's people (docs/casework.md).
    func holdForPeople(_ caseID: Int64) async throws {
        let lifecycle = CaseLifecycle(policy: Shared.policy, calendar: Shared.calendar)
        try await connection.transaction { tx in
            var events = LedgerBatch(actor: "deadline-enforcer")
            for _ in 0..<2 { try await lifecycle.escalate(caseID, fromJob: nil, reason: "nobody solved it", events: &events, on: tx) }
            try await events.write(on: tx)
        }
    }

    /// A fresh login of a department's worker role (or of several, for a worker serving them all).
    func workerLogin(_ taskForces: [TaskForce]) async throws -> TestDatabase.Login {
        try await TestDatabase.login(taskForces.map { "taskforce_worker_\($0.rawValue)" }, on: database)
    }

    /// A fresh login of the maintainer role.
    func maintainerLogin() async throws -> TestDatabase.Login {
        try await TestDatabase.login(["taskforce_maintainer"], on: database)
    }
}

/// A real `worker` process.
final class WorkerProcess: @unchecked Sendable {
    let process = Process()
    let log: URL

    /// Starts `worker` with `arguments`, connected as `login` (as deployed: never the superuser).
    /// - Parameter extraEnvironment: more variables for the worker's environment.
    init(as login: TestDatabase.Login, _ arguments: [String], extraEnvironment: [String: String] = [:]) throws {
        process.executableURL = Shared.productsDirectory.appending(path: "worker")
        process.arguments = arguments + ["--log-level", "notice"]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["DATABASE_URL"] = login.url
        environment.merge(extraEnvironment) { $1 }
        process.environment = environment
        log = URL(fileURLWithPath: NSTemporaryDirectory()).appending(path: "worker-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func terminate() { kill(process.processIdentifier, SIGTERM) }
    func killHard() { kill(process.processIdentifier, SIGKILL) }

    /// Waits for the process to exit; returns its status, or nil on timeout.
    func wait(timeout: TimeInterval) async -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < end { try? await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    /// A maintenance-only worker (rescue, promotion, deadlines) as a fresh maintainer login.
    static func maintainer(_ ledger: Ledger) async throws -> WorkerProcess {
        try WorkerProcess(as: try await ledger.maintainerLogin(), ["--maintenance-only", "--name", "maintainer-\(UInt16.random(in: 0...UInt16.max))"])
    }
}

/// Polls `condition` until it holds or `timeout` passes; errors count as "not yet".
func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return (try? await condition()) == true
}

/// Writes an executable handler script and returns its path.
func handlerScript(_ body: String) throws -> String {
    let path = NSTemporaryDirectory() + "handler-\(UUID().uuidString).sh"
    try ("#!/bin/sh\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
    return path
}
