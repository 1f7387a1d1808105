import Foundation
import CaseLedger
import CProcessControl
import Logging
import PostgresClient
import QueueCore
import ServiceLifecycle
import Synchronization
import TaskForces

/// Settings of a department worker process.
package struct CaseWorkerConfiguration: Sendable {
    /// The task forces (queues) it serves.
    package var taskForces: [TaskForce]
    /// Cases handled at once.
    package var concurrency = 4
    package var handler: CaseHandlerKind = .advisor
    /// Execution limit of one handler run.
    package var timeLimit: Duration = .seconds(30)
    /// Lease of a claimed job without heartbeats (crash detection).
    package var lease: Duration = .seconds(30)
    /// Polling interval when no NOTIFY arrives.
    package var poll: Duration = .seconds(1)
    /// Find work by polling only (connection poolers).
    package var pollOnly = false
    /// Stand for maintenance leader (rescue, promotion, deadlines, dashboards). Turn it
    /// off for logins of a department's role, which cannot see other task forces.
    package var maintenance = true
    /// Unique name of this process (shown to operators).
    package var name: String
    /// How often the process reports itself alive in `workers`.
    package var registryInterval: Duration = .seconds(5)
    /// Backoff between failed attempts.
    package var retryStrategy: RetryStrategy = .exponentialJitter(base: .seconds(2), maximum: .seconds(300))
    /// Graceful-shutdown grace period.
    package var shutdownGracePeriod: Duration = .seconds(30)
    /// How often the maintenance leader refreshes the dashboards' historical aggregates.
    package var dashboardRefreshInterval: Duration = .seconds(30)
    /// The period of the casework sweep (``CaseworkJobs``), a periodic job in queue
    /// `casework` that processes standing for maintenance serve.
    package var caseworkSweepInterval: Duration = .seconds(10)

    package init(taskForces: [TaskForce], name: String? = nil) {
        self.taskForces = taskForces
        self.name = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
    }
}

/// A department worker: the queue runtime with the case handlers, resolutions written
/// with each completion, deadline enforcement when it leads maintenance, and a row in
/// `workers` that dashboards read to see who is alive.
package final class CaseWorker: Service, Sendable {
    package let configuration: CaseWorkerConfiguration
    package let runtime: JobRuntime
    private let database: PostgresConfiguration
    private let pool: ConnectionPool
    private let logger: Logger
    private let fence: LeaseFence?

    /// - Parameters:
    ///   - database: where the cases live.
    ///   - configuration: task forces, concurrency, handler, timings.
    ///   - policy: time limits (for escalations' deadlines).
    ///   - calendar: working calendar.
    ///   - advisor: the built-in handler (also used to route reroutes).
    ///   - logger: log sink.
    package init(
        database: PostgresConfiguration, configuration: CaseWorkerConfiguration, policy: TimeLimitPolicy,
        calendar: WorkCalendar, advisor: CaseAdvisor, logger: Logger = Logger(label: "worker")
    ) {
        // A process that stands for maintenance also serves the casework's periodic jobs.
        let queues = configuration.taskForces.map(\.rawValue) + (configuration.maintenance ? [CaseworkJobs.queue] : [])
        var runtimeConfiguration = JobRuntimeConfiguration(queues: queues, slots: configuration.concurrency)
        runtimeConfiguration.lease = configuration.lease
        // The worker's own sessions (case loading, its registry row) are bounded like the runtime's.
        var database = runtimeConfiguration.boundingStatements(of: database)
        database.applicationName = "worker:\(configuration.name)"
        self.database = database
        self.configuration = configuration
        self.logger = logger
        self.pool = ConnectionPool(configuration: database, maximumConnections: 2)
        let lifecycle = CaseLifecycle(policy: policy, calendar: calendar)
        let recorder = ResolutionRecorder(lifecycle: lifecycle, worker: configuration.name, handlerName: configuration.handler.name)
        let enforcer = DeadlineEnforcer(lifecycle: lifecycle)
        runtimeConfiguration.workerName = configuration.name
        runtimeConfiguration.defaultTimeLimit = configuration.timeLimit
        runtimeConfiguration.heartbeatInterval = max(.milliseconds(200), configuration.lease / 3)
        runtimeConfiguration.pollInterval = configuration.poll
        runtimeConfiguration.pollOnly = configuration.pollOnly
        runtimeConfiguration.maintenance.enabled = configuration.maintenance
        runtimeConfiguration.retryStrategy = configuration.retryStrategy
        runtimeConfiguration.shutdownGracePeriod = configuration.shutdownGracePeriod
        let refresher = DashboardRefresher(interval: configuration.dashboardRefreshInterval)
        if case .exec = configuration.handler {
            let fence = LeaseFence()
            runtimeConfiguration.onLeaseHorizon = { fence.publish($0) }
            self.fence = fence
        } else {
            fence = nil
        }
        runtimeConfiguration.maintenance.extraTasks = [
            { connection in
                let result = try await enforcer.enforce(on: connection)
                if result.warnings + result.breaches > 0 {
                    logger.notice("deadlines enforced", metadata: ["warnings": "\(result.warnings)", "breaches": "\(result.breaches)"])
                }
            },
            { connection in try await refresher.refreshIfDue(on: connection) },
        ]
        let handler = CaseHandlers.make(configuration.handler, loader: CaseLoader(pool: pool), advisor: advisor, fence: fence,
                                        scrub: { [database] text in database.scrub(text) })
        var handlers: [String: JobHandler] = [CaseJob.kind: handler]
        if configuration.maintenance {
            runtimeConfiguration.maintenance.periodicJobs = CaseworkJobs.schedules(sweepInterval: configuration.caseworkSweepInterval)
            handlers.merge(CaseworkJobs.handlers(casework: Casework(policy: policy, calendar: calendar), calendar: calendar,
                                                 pool: pool, logger: logger)) { own, _ in own }
        }
        self.runtime = JobRuntime(
            database: database, configuration: runtimeConfiguration, handlers: handlers,
            hooks: recorder.hooks, logger: logger)
    }

    /// Asks the worker to drain and stop.
    package func stop() { runtime.stop() }

    package func run() async throws {
        // A write to a pipe or socket whose reader is gone must fail with EPIPE, never
        // kill the whole worker (the default for SIGPIPE).
        signal(SIGPIPE, SIG_IGN)
        // Handlers run as the same OS user: without this they could read the worker's
        // DATABASE_URL from /proc/<pid>/environ, whatever environment they are given.
        if taskforce_make_nondumpable() != 0 {
            logger.warning("could not make the worker non-dumpable; exec handlers of the same OS user could read its environment from /proc")
        }
        try await register()
        let registry = Task { await self.reportAlive() }
        defer { registry.cancel() }
        defer { fence?.remove() }
        do {
            try await runtime.run()
        } catch {
            await markStopped()
            await pool.close()
            throw error
        }
        registry.cancel()
        await registry.value
        await markStopped()
        await pool.close()
    }

    private func register() async throws {
        var attempt = 0
        while true {
            do {
                try await pool.query(
                    WorkerQueries.registerWorker, configuration.name, ProcessInfo.processInfo.hostName, Int(getpid()),
                    configuration.taskForces.map(\.rawValue), configuration.handler.name, configuration.concurrency)
                logger.info("worker registered", metadata: [
                    "task_forces": "\(configuration.taskForces.map(\.rawValue).joined(separator: ","))",
                    "handler": "\(configuration.handler.name)", "concurrency": "\(configuration.concurrency)"])
                return
            } catch let error as PostgresError where error.isConnectionError && attempt < 30 {
                attempt += 1
                logger.warning("database not reachable; retrying", metadata: ["error": "\(error.message)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func reportAlive() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.registryInterval)
            if Task.isCancelled { return }
            let stats = runtime.statistics
            let running = stats.claimed - stats.completed - stats.failed - stats.discarded - stats.givenBack - stats.leaseLost
            _ = try? await pool.query(WorkerQueries.workerHeartbeat, configuration.name, max(0, running), stats.completed, stats.stuckHandlers)
        }
    }

    /// The final row: stopped, nothing running, the whole count of completed jobs (the
    /// last heartbeat may be seconds old).
    private func markStopped() async {
        _ = try? await pool.query(WorkerQueries.workerStopped, configuration.name, runtime.statistics.completed)
    }
}

/// Refreshes the dashboards' materialized views at most once per interval (leader only).
final class DashboardRefresher: Sendable {
    private let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(interval: Duration) { self.interval = interval }

    func refreshIfDue(on connection: PostgresConnection) async throws {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
        if due { try await connection.query(WorkerQueries.refreshDashboards, max(1_000, Int(interval / .milliseconds(1)))) }
    }
}
