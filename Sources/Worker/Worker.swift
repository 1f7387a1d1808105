import ArgumentParser
import CaseLedger
import CaseWorker
import Dashboard
import Foundation
import Hummingbird
import Metrics
import Prometheus
import Logging
import PostgresClient
import ServiceLifecycle
import TaskForces

@main
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Department worker: claims its task forces' cases and resolves, escalates or reroutes them within time limits.",
        discussion: """
            Runs on any host that reaches the database; run several per department.
            SIGTERM or SIGINT drains gracefully: no new claims, running cases finish within
            the grace period, the rest are given back without consuming an attempt.
            """)

    @Option(name: .customLong("task-force"), help: "Comma-separated task forces to serve, or `all`.")
    var taskForce = "all"
    @Option(help: "Cases handled at once.") var concurrency = 4
    @Option(help: "advisor (built in) or exec (a program given by --exec).") var handler = "advisor"
    @Option(help: ArgumentHelp("The department's program, run with /bin/sh -c: the case as JSON on stdin, one JSON resolution on stdout.", valueName: "COMMAND ARGS"))
    var exec: String?
    @Option(name: .customLong("time-limit"), help: "Execution limit of one handler run (e.g. 30s, 2m).") var timeLimit = "30s"
    @Option(help: "Lease of a claimed case without heartbeats (crash detection).") var lease = "30s"
    @Option(help: "Polling interval when no notification arrives.") var poll = "1s"
    @Flag(name: .customLong("poll-only"), help: "Never LISTEN; poll only (for connection poolers).") var pollOnly = false
    @Flag(name: .customLong("no-maintenance"), help: "Never stand for maintenance leader (for logins of a department role; run maintenance as taskforce_maintainer).")
    var noMaintenance = false
    @Flag(name: .customLong("maintenance-only"), help: "Claim no cases; stand for maintenance leader (rescue, promotion, deadlines, pruning, dashboards) and run the casework's periodic jobs (queue casework). For a login of the maintainer role.")
    var maintenanceOnly = false
    @Option(name: .customLong("handler-env"), help: ArgumentHelp("Pass this variable of the worker's environment to exec handlers (repeatable). DATABASE_URL and PG* are never passed.", valueName: "NAME"))
    var handlerEnv: [String] = []
    @Option(help: "Unique name of this process (default host-pid).") var name: String?
    @Option(name: .customLong("grace"), help: "Graceful-shutdown grace period.") var grace = "30s"
    @Option(name: .customLong("casework-sweep"), help: "Period of the casework sweep (people's clocks, resumptions, callbacks), run once per period by one of the processes standing for maintenance.")
    var caseworkSweep = "10s"
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp("Serve this process's Prometheus metrics on HOST:PORT (/metrics).", valueName: "HOST:PORT"))
    var metricsListen: String?
    @Option(name: .customLong("time-limits"), help: ArgumentHelp("Time-limit policy JSON, for escalations' and reroutes' deadlines (default: built in; $TIME_LIMITS_FILE overrides). Use the same file as the dispatcher.", valueName: "FILE"))
    var timeLimits: String?
    @Option(help: ArgumentHelp("Working calendar JSON (default: built in; $CALENDAR_FILE overrides). Use the same file as the dispatcher.", valueName: "FILE"))
    var calendar: String?
    @Option(help: ArgumentHelp("Routing model for the advisor's reroutes, from `dispatcher train --output` (default: built in; $ROUTING_MODEL overrides). Use the same file as the dispatcher.", valueName: "FILE"))
    var model: String?
    @Option(name: .customLong("database-url"), help: ArgumentHelp("libpq URI or conninfo (default $DATABASE_URL, then PG* variables).", valueName: "URL"))
    var databaseURL: String?

    func run() async throws {
        if maintenanceOnly && noMaintenance { throw ValidationError("--maintenance-only and --no-maintenance exclude each other") }
        let taskForces = maintenanceOnly ? [] : try Self.parseTaskForces(taskForce)
        if let secret = handlerEnv.first(where: HandlerEnvironment.isSecret) {
            throw ValidationError("--handler-env \(secret): DATABASE_URL and PG* variables are never passed to handlers (they hold the database's secrets)")
        }
        let handlerKind: CaseHandlerKind
        switch handler {
        case "advisor": handlerKind = .advisor
        case "exec":
            guard let exec, !exec.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--handler exec needs --exec \"COMMAND ARGS\"") }
            handlerKind = .exec(command: exec, environment: .scrubbed(passing: handlerEnv))
        default: throw ValidationError("--handler must be advisor or exec, not \(handler)")
        }
        guard (1...512).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 512") }
        var configuration = CaseWorkerConfiguration(taskForces: taskForces, name: name)
        configuration.concurrency = concurrency
        configuration.handler = handlerKind
        configuration.timeLimit = try Self.parseDuration(timeLimit, option: "--time-limit")
        configuration.lease = try Self.parseDuration(lease, option: "--lease")
        configuration.poll = try Self.parseDuration(poll, option: "--poll")
        configuration.pollOnly = pollOnly
        configuration.maintenance = !noMaintenance
        configuration.shutdownGracePeriod = try Self.parseDuration(grace, option: "--grace")
        configuration.caseworkSweepInterval = try Self.parseDuration(caseworkSweep, option: "--casework-sweep")
        guard configuration.caseworkSweepInterval >= .seconds(1) else { throw ValidationError("--casework-sweep must be at least 1s") }

        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("--log-level: unknown level \(logLevel)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "worker")
        let database = databaseURL.map { PostgresConfiguration(connectionString: $0) } ?? .fromEnvironment()
        if let databaseURL, PostgresConfiguration.redact(databaseURL) != databaseURL {
            logger.warning("--database-url carries a password, which every local user can read in the process list; pass it in DATABASE_URL, PGPASSWORD or a password file instead")
        }
        let normalizer = try TextNormalizer()
        let advisor = CaseAdvisor(
            catalogue: try MeasuresCatalogue.bundled(), escalationTerms: try EscalationTerms.bundled(),
            classifier: RoutingClassifier(model: try PolicyFiles.loadModel(path: model), normalizer: normalizer))
        let (policy, workCalendar) = try PolicyFiles.load(timeLimits: timeLimits, calendar: calendar)
        if let warning = PolicyFiles.coverageWarning(workCalendar) { logger.warning("\(warning)") }
        let worker = CaseWorker(
            database: database, configuration: configuration, policy: policy,
            calendar: workCalendar, advisor: advisor, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let metricsListen {
            let (host, port) = try DashboardApp.parseListen(metricsListen)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let router = Router()
            router.get("/metrics") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: registry.emitToString())))
            }
            router.get("/healthz") { _, _ in "ok\n" }
            services.append(.init(service: Application(
                router: router, configuration: .init(address: .hostname(host, port: port), serverName: "taskforce-worker"), logger: logger)))
            logger.info("metrics on http://\(host):\(port)/metrics")
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    static func parseTaskForces(_ text: String) throws -> [TaskForce] {
        if text.trimmingCharacters(in: .whitespaces).lowercased() == "all" { return TaskForce.departments }
        let list = try text.split(separator: ",").map { try TaskForce(parsing: String($0)) }
        guard !list.isEmpty else { throw ValidationError("--task-force needs at least one task force, or `all`") }
        if list.contains(.triage) { throw ValidationError("triage has no queue: a person routes those cases (dispatcher triage)") }
        return list
    }

    /// `500ms`, `30s`, `2m`, `1h`, or plain seconds.
    static func parseDuration(_ text: String, option: String) throws -> Duration {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            if let value = Double(trimmed.dropLast(suffix.count)), value > 0 { return .milliseconds(Int64(value * scale * 1000)) }
        }
        if let value = Double(trimmed), value > 0 { return .milliseconds(Int64(value * 1000)) }
        throw ValidationError("\(option): \"\(text)\" is not a duration like 500ms, 30s, 2m or 1h")
    }
}
