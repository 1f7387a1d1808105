import Foundation
import Logging
import Metrics
import PostgresClient
import ServiceLifecycle
import Synchronization

/// Runs jobs from PostgreSQL queues in a fixed number of slots.
///
/// - A fetch loop claims as many ready jobs as there are free slots, in one statement,
///   when woken by NOTIFY (debounced) or every `pollInterval` (`pollOnly` skips LISTEN).
/// - Each job runs its kind's handler under its time limit. A handler that overruns is
///   cancelled and its attempt failed ("time limit exceeded after N s"); its slot stays
///   busy until the handler actually returns.
/// - Outcomes are committed in batches, one transaction per batch, with the caller's
///   ``JobRuntimeHooks`` writes in the same transaction, all fenced by lease token.
/// - A heartbeat extends every held lease in one statement; a job whose lease was lost
///   has its handler cancelled and its outcome dropped.
/// - Self-fencing: each held lease's end is tracked by this process's own clock (from
///   before the statement that claimed or extended it). A lease that could not be
///   renewed in time has its handler cancelled `selfFenceMargin` before it lapses, and
///   its outcome dropped: the job is rescued and run elsewhere, never by two attempts
///   at once. ``JobRuntimeConfiguration/onLeaseHorizon`` tells handlers that run outside
///   the process (exec) the same moment, so they stop even while this process is frozen.
///   Statements wait at most their deadline (``PostgresConfiguration/statementDeadline``,
///   the lease plus five seconds here) and are cancelled with their task.
/// - One runtime among all processes is the maintenance leader (rescue, promotion,
///   pruning, extra tasks).
/// - On graceful shutdown (SIGTERM/SIGINT through swift-service-lifecycle, or `stop()`),
///   it stops claiming, lets running jobs finish within the grace period, then cancels
///   them and gives them back without consuming their attempt.
/// - Database errors (a restart, a terminated session) are logged and retried with
///   backoff; nothing claimed is lost: its outcome is committed later, or its lease
///   lapses and the leader rescues it.
///
/// The decisions live in ``RuntimeStateMachine``, a value type without I/O; this class
/// is its shell. One Mutex guards the machine; each event (a claim's answer, a handler
/// returning, a heartbeat's answer, a fencing tick, a commit) is applied under it and
/// the actions it returns are performed outside it. The loops (fetch, flush, heartbeat,
/// fencing, LISTEN, maintenance, shutdown) and one supervisor per running job are
/// children of one task group. A supervisor runs its handler in a task of its own
/// beside the time limit, so that a handler that ignores cancellation can be left
/// behind when shutdown has waited for it long enough.
public final class JobRuntime: Service, Sendable {
    public let configuration: JobRuntimeConfiguration
    private let database: PostgresConfiguration
    private let handlers: [String: JobHandler]
    private let hooks: JobRuntimeHooks
    private let logger: Logger
    private let pool: ConnectionPool
    private let metrics: QueueMetrics

    /// The machine, and what the shell keeps beside it for performing its actions.
    private struct Shell: Sendable {
        var machine: RuntimeStateMachine
        /// Where to send a running job's cancellation, by lease.
        var supervisors: [JobLease: AsyncStream<JobSignal>.Continuation] = [:]
        /// Where the task group takes jobs to start; nil until `run()` and after it.
        var starter: AsyncStream<JobStart>.Continuation?
        var listener: PostgresConnection?
    }

    private let state: Mutex<Shell>
    private let fetchSignal = WakeSignal()
    private let outcomeSignal = WakeSignal()
    private let drainSignal = WakeSignal()
    /// Serialises publishing the lease horizon, with the version last published (claims,
    /// heartbeats and the fence publish it from different tasks; a stale value must not
    /// overwrite a newer one).
    private let horizonPublisher = Mutex<UInt64>(0)

    /// What a job's supervisor is told.
    private enum JobSignal: Sendable {
        case returned(Result<JobOutcome, any Error>)
        case timeLimit
        case cancel
    }

    private struct JobStart: Sendable {
        let job: Job
        let signals: AsyncStream<JobSignal>
        let control: AsyncStream<JobSignal>.Continuation
    }

    /// - Parameters:
    ///   - database: where the queue lives.
    ///   - configuration: queues, slots, timings.
    ///   - handlers: one handler per job kind.
    ///   - hooks: writes to commit with each completion or failure.
    ///   - logger: log sink; job id, queue and kind go in metadata.
    public init(
        database: PostgresConfiguration, configuration: JobRuntimeConfiguration,
        handlers: [String: JobHandler], hooks: JobRuntimeHooks = JobRuntimeHooks(),
        logger: Logger = Logger(label: "queue.runtime")
    ) {
        let database = configuration.boundingStatements(of: database)
        self.database = database
        self.configuration = configuration
        self.handlers = handlers
        self.hooks = hooks
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.workerName)"
        self.logger = logger
        self.pool = ConnectionPool(configuration: database, maximumConnections: configuration.connections)
        self.metrics = QueueMetrics()
        self.state = Mutex(Shell(machine: RuntimeStateMachine(configuration: configuration)))
    }

    /// Counters of what this runtime did so far.
    public var statistics: RuntimeStatistics {
        state.withLock { $0.machine.statistics(at: .now) }
    }

    /// Asks the runtime to shut down gracefully; `run()` returns when it is done.
    public func stop() {
        send { $0.machine.shutdownRequested() }
        state.withLock { $0.listener }?.interruptWait()
    }

    /// Runs until ``stop()``, task cancellation or a graceful-shutdown signal. Either
    /// way the shutdown is graceful: cancellation asks for it, and the runtime's own
    /// tasks run apart from the caller's, so that it is not cut short.
    public func run() async throws {
        let shell = Task { await runUntilStopped() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await shell.value
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func runUntilStopped() async {
        logger.info("worker runtime starting", metadata: [
            "queues": "\(configuration.queues.joined(separator: ","))", "slots": "\(configuration.slots)",
            "mode": "\(configuration.pollOnly ? "poll-only" : "listen+poll")",
        ])
        let (starts, starter) = AsyncStream.makeStream(of: JobStart.self)
        state.withLock { $0.starter = starter }
        await withDiscardingTaskGroup { group in
            if !configuration.pollOnly { group.addTask { await self.listenLoop() } }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.fenceLoop() }
            if configuration.maintenance.enabled { group.addTask { await self.maintenanceLoop() } }
            group.addTask { await self.flushLoop() }
            group.addTask { await self.fetchLoop() }
            group.addTask {
                await self.drain()
                starter.finish()
            }
            for await start in starts {
                group.addTask { await self.supervise(start) }
            }
            // Drained: the helpers stop (and supervisors of handlers left behind).
            state.withLock { $0.starter = nil }
            group.cancelAll()
            state.withLock { $0.listener }?.interruptWait()
        }
        send { $0.machine.horizonCleared() }
        await pool.close()
        logger.info("worker runtime stopped", metadata: ["completed": "\(statistics.completed)"])
    }

    // MARK: Performing actions

    /// Applies an event to the machine under the lock, then performs its actions.
    @discardableResult
    private func send(_ event: (inout Shell) -> [RuntimeAction]) -> [RuntimeAction] {
        let (actions, cancels) = state.withLock { shell in
            let actions = event(&shell)
            var starts: [JobStart] = []
            var cancels: [AsyncStream<JobSignal>.Continuation] = []
            for action in actions {
                switch action {
                case .start(let job):
                    let (signals, control) = AsyncStream.makeStream(of: JobSignal.self)
                    shell.supervisors[job.lease] = control
                    starts.append(JobStart(job: job, signals: signals, control: control))
                case .cancel(let leases, _):
                    cancels += leases.compactMap { shell.supervisors[$0] }
                default:
                    break
                }
            }
            if !starts.isEmpty, let starter = shell.starter {
                for start in starts { starter.yield(start) }
            } else if !starts.isEmpty {
                // Not running (cannot happen: nothing is claimed outside `run()`).
                for start in starts { start.control.finish() }
            }
            return (actions, cancels)
        }
        for control in cancels { control.yield(.cancel) }
        for action in actions { perform(action) }
        return actions
    }

    private func perform(_ action: RuntimeAction) {
        switch action {
        case .start, .cancel(_, .timeLimit):
            break
        case .cancel(let leases, .leaseLost):
            logger.warning("leases lost; cancelled their handlers", metadata: ["jobs": "\(leases.map(\.id))"])
        case .cancel(let leases, .fenced):
            logger.error("leases could not be renewed in time; cancelled their handlers before the leases lapse (self-fencing)",
                         metadata: ["jobs": "\(leases.map(\.id))", "margin": "\(configuration.effectiveSelfFenceMargin)"])
        case .cancel(_, .shutdown):
            break
        case .wakeFetcher:
            fetchSignal.signal()
        case .wakeFlusher:
            outcomeSignal.signal()
        case .drainProgress:
            drainSignal.signal()
        case .publishHorizon(let horizon, let version):
            guard let callback = configuration.onLeaseHorizon else { return }
            horizonPublisher.withLock { published in
                guard version > published else { return }
                published = version
                callback(horizon.map { Date().addingTimeInterval(Self.seconds($0 - .now)) })
            }
        case .outcomeDropped(let job, .fenced):
            jobLogger(job).warning("lease could not be renewed in time; the outcome is dropped (self-fenced; the job will be rescued)")
        case .outcomeDropped(let job, _):
            jobLogger(job).warning("lease lost while running; the outcome is dropped (the job was rescued or cancelled)")
        case .attemptFailed(let job, let error):
            jobLogger(job).info("attempt failed", metadata: ["attempt": "\(job.attempt)", "error": "\(error)"])
        case .timeLimitExceeded(let job, let seconds):
            jobLogger(job).warning("time limit exceeded; cancelling the handler", metadata: ["limit_s": "\(seconds)"])
        case .graceOver(let unfinished):
            logger.notice("grace period over: cancelling and giving back jobs", metadata: ["jobs": "\(unfinished)"])
        case .outcomesRefused(let count):
            logger.warning("outcomes refused: leases were lost before commit (jobs rescued or cancelled)", metadata: ["jobs": "\(count)"])
        }
    }

    /// A logger with the job's metadata, built only when something is logged.
    private func jobLogger(_ job: Job) -> Logger {
        var jobLogger = logger
        jobLogger[metadataKey: "job_id"] = "\(job.id)"
        jobLogger[metadataKey: "queue"] = "\(job.queue)"
        jobLogger[metadataKey: "kind"] = "\(job.kind)"
        return jobLogger
    }

    // MARK: Fetching

    private func fetchLoop() async {
        var failures = 0
        while true {
            switch state.withLock({ $0.machine.fetchDue() }) {
            case .stop:
                return
            case .wait:
                await fetchSignal.wait(timeout: configuration.pollInterval)
            case .claim(let limit, let queues):
                let claimStarted = ContinuousClock.now
                let jobs: [Job]
                do {
                    jobs = try await pool.withConnection { connection in
                        try await JobQueue.claim(
                            queues: queues, limit: limit, lease: configuration.lease,
                            worker: configuration.workerName, on: connection)
                    }
                    failures = 0
                } catch {
                    send { $0.machine.claimFailed() }
                    failures += 1
                    let delay = Self.backoff(failures)
                    logger.warning("claim failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                    await fetchSignal.wait(timeout: delay)
                    continue
                }
                for job in jobs { metrics.started(job) }
                send { $0.machine.claimed(jobs, limit: limit, leasedAt: claimStarted, at: .now) }
                // A full claim woke the fetcher already: it claims again at once.
                await fetchSignal.wait(timeout: configuration.pollInterval)
            }
        }
    }

    // MARK: Executing

    /// Runs one job's handler under its time limit and reports what became of it.
    private func supervise(_ start: JobStart) async {
        let job = start.job
        let control = start.control
        let handler = handlers[job.kind]
        if handler == nil { jobLogger(job).error("no handler for this job kind") }
        let missing = QueueError(code: .missingHandler, message: "no handler registered for kind \(job.kind) on worker \(configuration.workerName)",
                                 jobID: job.id)
        // The handler runs in a task of its own: one that ignores cancellation can be
        // left behind at the end of a shutdown. Its slot stays busy until it returns.
        let run = Task {
            let result: Result<JobOutcome, any Error>
            if let handler {
                do { result = .success(try await handler(job)) } catch { result = .failure(error) }
            } else {
                result = .failure(missing)
            }
            control.yield(.returned(result))
        }
        let limit = configuration.timeLimit(for: job)
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled { control.yield(.timeLimit) }
            }
            for await signal in start.signals {
                switch signal {
                case .returned(let result):
                    send { shell in
                        shell.supervisors[job.lease] = nil
                        return shell.machine.handlerReturned(job.lease, result, at: .now)
                    }
                    control.finish()
                case .timeLimit:
                    send { $0.machine.timeLimitHit(job.lease, at: .now) }
                case .cancel:
                    run.cancel()
                }
            }
            // Returned, or left behind (the runtime is stopping and cancelled this supervisor).
            group.cancelAll()
        }
        run.cancel()
    }

    // MARK: Committing outcomes

    private func flushLoop() async {
        var failures = 0
        while !Task.isCancelled {
            let batch: [OutcomeReport]
            switch state.withLock({ $0.machine.commitDue() }) {
            case .stop:
                return
            case .wait:
                await outcomeSignal.wait(timeout: .seconds(1))
                continue
            case .commit(let reports):
                batch = reports
            }
            do {
                try await commit(batch)
                failures = 0
            } catch let error as PostgresError where error.isConnectionError || error.code == .poolTimeout {
                failures += 1
                let delay = Self.backoff(failures)
                logger.warning("committing outcomes failed; retrying", metadata: ["error": "\(error)", "jobs": "\(batch.count)"])
                state.withLock { $0.machine.commitFailed(batch) }
                try? await Task.sleep(for: delay)
            } catch {
                // A hook or statement rejected the batch: commit one by one so that one
                // bad outcome cannot hold the others back.
                logger.warning("committing a batch failed; committing one by one", metadata: ["error": "\(error)"])
                for report in batch { await commitAlone(report) }
            }
        }
    }

    private func commitAlone(_ report: OutcomeReport) async {
        do {
            try await commit([report])
        } catch let error as PostgresError where error.isConnectionError || error.code == .poolTimeout {
            state.withLock { $0.machine.commitFailed([report]) }
        } catch {
            if case .complete = report.kind {
                // The completion write failed: fail the attempt instead (it will be retried).
                let failure = OutcomeReport(
                    job: report.job,
                    kind: .fail(error: "completion failed: \(error)",
                                retryDelay: configuration.retryStrategy(for: report.job.kind).delay(afterAttempt: report.job.attempt),
                                discard: false),
                    duration: report.duration)
                do { try await commit([failure]); return } catch {}
            }
            logger.error("could not record a job's outcome; its lease will lapse and it will be rescued",
                         metadata: ["job_id": "\(report.job.id)", "error": "\(error)"])
            send { $0.machine.outcomeAbandoned(report) }
        }
    }

    /// Commits `batch` in one transaction with the hooks' writes, then tells the machine.
    private func commit(_ batch: [OutcomeReport]) async throws {
        var completes: [(OutcomeReport, String?)] = []
        var failures: [(OutcomeReport, JobQueue.Failure)] = []
        var snoozes: [OutcomeReport] = []
        var waits: [OutcomeReport] = []
        var cancels: [(OutcomeReport, String)] = []
        var givebacks: [OutcomeReport] = []
        for report in batch {
            switch report.kind {
            case .complete(let result): completes.append((report, result))
            case .fail(let error, let delay, let discard):
                failures.append((report, JobQueue.Failure(lease: report.job.lease, error: error, retryDelay: delay, discard: discard)))
            case .snooze: snoozes.append(report)
            case .wait: waits.append(report)
            case .cancel(let reason): cancels.append((report, reason))
            case .giveBack: givebacks.append(report)
            }
        }
        let hooks = self.hooks
        // One kind of outcome and nothing of the caller's to write: one statement,
        // autocommitted — one round trip instead of three.
        let kinds = [!completes.isEmpty, !failures.isEmpty, !snoozes.isEmpty, !waits.isEmpty, !cancels.isEmpty, !givebacks.isEmpty]
            .filter { $0 }.count
        let single = kinds == 1 && hooks.didComplete == nil && hooks.didFail == nil && snoozes.isEmpty && cancels.isEmpty
        let write = { (connection: PostgresConnection) async throws -> (Set<JobLease>, [JobLease: JobState]) in
            let completed = try await JobQueue.completeLeases(completes.map(\.0.job.lease), on: connection)
            if let didComplete = hooks.didComplete, !completed.isEmpty {
                let jobs = completes.filter { completed.contains($0.0.job.lease) }
                    .map { CompletedJob(job: $0.0.job, result: $0.1, duration: $0.0.duration) }
                try await didComplete(jobs, connection)
            }
            let states = try await JobQueue.failLeases(failures.map(\.1), on: connection)
            if let didFail = hooks.didFail, !states.isEmpty {
                let jobs = failures.compactMap { report, failure -> FailedJob? in
                    guard let state = states[report.job.lease] else { return nil }
                    return FailedJob(job: report.job, error: failure.error, newState: state, duration: report.duration)
                }
                try await didFail(jobs, connection)
            }
            for report in snoozes {
                if case .snooze(let delay) = report.kind {
                    try await JobQueue.snooze([report.job.lease], for: delay, on: connection)
                }
            }
            // Every wait of the batch in one statement, each with its own key and timeout.
            try await JobQueue.wait(waits.compactMap { report -> JobQueue.Wait? in
                guard case .wait(let key, let until) = report.kind else { return nil }
                return JobQueue.Wait(lease: report.job.lease, key: key, until: until)
            }, on: connection)
            for (report, reason) in cancels {
                try await JobQueue.cancelHeld([report.job.lease], reason: reason, on: connection)
            }
            try await JobQueue.giveBack(givebacks.map(\.job.lease), on: connection)
            return (completed, states)
        }
        let (completed, failedStates) = single
            ? try await pool.withConnection { try await write($0) }
            : try await pool.transaction { try await write($0) }
        send { $0.machine.commitSucceeded(batch, completed: completed, failedStates: failedStates) }
        for (report, _) in completes where completed.contains(report.job.lease) { metrics.completed(report.job, duration: report.duration) }
        for (report, _) in failures { metrics.failed(report.job, discarded: failedStates[report.job.lease] == .discarded) }
    }

    // MARK: Heartbeats

    private func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            if Task.isCancelled { return }
            let leases = state.withLock { $0.machine.heartbeatDue() }
            guard !leases.isEmpty else { continue }
            let started = ContinuousClock.now
            do {
                let kept = try await pool.withConnection { connection in
                    try await JobQueue.extendLeases(leases, by: configuration.lease, on: connection)
                }
                send { $0.machine.heartbeatAnswered(sent: leases, kept: kept, leasedAt: started, at: .now) }
            } catch {
                logger.warning("heartbeat failed; retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Self-fencing

    /// Cancels the handlers whose leases are about to lapse unrenewed. Runs apart from
    /// the heartbeat, which may itself be stuck in a statement.
    private func fenceLoop() async {
        let tick = min(Duration.seconds(1), configuration.lease / 10)
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            if Task.isCancelled { return }
            send { $0.machine.fenceTick(at: .now) }
        }
    }

    // MARK: Shutdown

    /// Waits for ``stop()``, then drains: stops claiming, lets running jobs finish
    /// within the grace period, cancels the rest and gives them back without burning an
    /// attempt, and commits every outcome still pending.
    private func drain() async {
        while !state.withLock({ $0.machine.isDraining }) { await drainSignal.wait(timeout: nil) }
        let graceEnd = ContinuousClock.now + configuration.shutdownGracePeriod
        await waitForDrain(until: graceEnd) { $0.busySlots == 0 }
        let actions = send { $0.machine.graceExpired(at: .now) }
        if actions.contains(where: { if case .graceOver = $0 { true } else { false } }) {
            await waitForDrain(until: .now + .seconds(5)) { $0.busySlots == 0 }
            // Handlers that ignore cancellation: give their jobs back anyway.
            send { $0.machine.handlersAbandoned(at: .now) }
        }
        let commitEnd = graceEnd + .seconds(30)
        await waitForDrain(until: commitEnd) { $0.isSettled }
        let unsettled = state.withLock { $0.machine.held.count }
        if unsettled > 0 {
            logger.error("could not commit every outcome before exiting; their leases will lapse and the jobs will be rescued",
                         metadata: ["jobs": "\(unsettled)"])
        }
        send { $0.machine.stopped() }
    }

    private func waitForDrain(until end: ContinuousClock.Instant, _ done: (RuntimeStateMachine) -> Bool) async {
        while !state.withLock({ done($0.machine) }) {
            let now = ContinuousClock.now
            guard now < end else { return }
            await drainSignal.wait(timeout: min(end - now, .milliseconds(100)))
        }
    }

    // MARK: LISTEN

    private func listenLoop() async {
        var failures = 0
        let queues = Set(configuration.queues)
        let stopping = { self.state.withLock { $0.machine.isDraining } }
        while !Task.isCancelled, !stopping() {
            do {
                let connection = try await PostgresConnection.connect(database)
                state.withLock { $0.listener = connection }
                defer { state.withLock { $0.listener = nil } }
                try await connection.listen(QueueNotifications.channel)
                // Jobs may have arrived while we were not listening.
                fetchSignal.signal()
                failures = 0
                while !Task.isCancelled, !stopping() {
                    if let notification = try await connection.nextNotification(timeout: .seconds(60)),
                       queues.contains(notification.payload) {
                        fetchSignal.signal()
                    }
                }
                await connection.close()
            } catch {
                failures += 1
                let delay = Self.backoff(failures)
                logger.warning("LISTEN connection failed; polling meanwhile", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    // MARK: Maintenance

    private func maintenanceLoop() async {
        let settings = configuration.maintenance
        var leading = false
        var lastPrune = ContinuousClock.now - settings.pruneInterval
        var mayVacuum: Bool?
        var registeredSchedules = false
        while !Task.isCancelled {
            do {
                let mayStand = try await pool.withConnection { connection -> Bool in
                    let elected: Bool
                    do {
                        elected = try await QueueMaintenance.elect(holder: configuration.workerName, ttl: settings.leaderTTL, on: connection)
                    } catch let error as PostgresError where error.isInsufficientPrivilege {
                        // A login without the maintainer's privileges (a department's role) must
                        // never lead: it would rescue and prune only what it can see.
                        return false
                    }
                    if elected != leading {
                        logger.info(elected ? "elected maintenance leader" : "no longer maintenance leader")
                        leading = elected
                    }
                    guard elected else { return true }
                    if !registeredSchedules {
                        for schedule in settings.periodicJobs { try await JobQueue.schedulePeriodic(schedule, on: connection) }
                        registeredSchedules = true
                    }
                    // Rescue and the application's record of the lost attempts commit together.
                    let hooks = self.hooks
                    let rescue = try await connection.transaction { tx in
                        let report = try await QueueMaintenance.rescueExpired(on: tx)
                        if let didRescue = hooks.didRescue, !report.rescuedJobs.isEmpty { try await didRescue(report.rescuedJobs, tx) }
                        return report
                    }
                    var promote = try await QueueMaintenance.promoteDue(on: connection)
                    promote.wokenQueues.formUnion(try await QueueMaintenance.promoteTimedOut(on: connection).wokenQueues)
                    if settings.periodic {
                        let periodic = try await QueueMaintenance.enqueuePeriodic(on: connection)
                        if !periodic.isEmpty {
                            logger.info("enqueued periodic jobs", metadata: ["schedules": "\(periodic.map(\.name))"])
                        }
                    }
                    if rescue.rescued + rescue.discardedByRescue > 0 {
                        logger.notice("rescued jobs with expired leases", metadata: [
                            "rescued": "\(rescue.rescued)", "discarded": "\(rescue.discardedByRescue)"])
                        metrics.rescued(rescue.rescued + rescue.discardedByRescue)
                    }
                    state.withLock { $0.machine.rescued(rescue.rescued + rescue.discardedByRescue) }
                    try await QueueMaintenance.wake(rescue.wokenQueues.union(promote.wokenQueues), on: connection)
                    if settings.vacuumDeadTuples > 0, mayVacuum == nil {
                        mayVacuum = try await QueueMaintenance.mayVacuum(on: connection)
                        if mayVacuum == false {
                            logger.notice("this login does not own queue_jobs and cannot vacuum it; autovacuum alone keeps the hot table (migration 0006 tunes it). Run a leader as the owner for the leader's vacuum.")
                        }
                    }
                    if settings.vacuumDeadTuples > 0, mayVacuum == true {
                        do {
                            if try await QueueMaintenance.vacuumIfNeeded(deadTuples: settings.vacuumDeadTuples, on: connection) {
                                logger.debug("vacuumed queue_jobs")
                            }
                        } catch let error as PostgresError where error.isInsufficientPrivilege || error.sqlState == "42501" {
                            // Not the table's owner: autovacuum alone keeps it.
                        }
                    }
                    if ContinuousClock.now - lastPrune >= settings.pruneInterval {
                        let pruned = try await QueueMaintenance.prune(
                            completedRetention: settings.completedRetention, finishedRetention: settings.finishedRetention, on: connection)
                        // Behind (old rows left after the time budget): prune again next pass.
                        lastPrune = pruned.caughtUp ? ContinuousClock.now : ContinuousClock.now - settings.pruneInterval
                        if pruned.deleted > 0 {
                            logger.info("pruned finished jobs", metadata: ["jobs": "\(pruned.deleted)", "caught_up": "\(pruned.caughtUp)"])
                        }
                    }
                    for task in settings.extraTasks { try await task(connection) }
                    return true
                }
                if !mayStand {
                    logger.notice("this login may not lead maintenance (no privileges on the leader table); not standing. Run a maintainer login (worker --maintenance-only) for rescue, deadlines and pruning.")
                    return
                }
            } catch {
                logger.warning("maintenance pass failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.interval)
        }
        if leading {
            _ = try? await pool.withConnection { try await QueueMaintenance.resign(holder: configuration.workerName, on: $0) }
        }
    }

    // MARK: Helpers

    static func backoff(_ failures: Int) -> Duration {
        let milliseconds = min(5_000.0, 50.0 * pow(2.0, Double(min(failures, 10) - 1)))
        return .milliseconds(Int64(milliseconds * Double.random(in: 0.8...1.2)))
    }

    static func seconds(_ duration: Duration) -> Double { RetryStrategy.seconds(duration) }
}

/// What one runtime has done since it started.
public struct RuntimeStatistics: Sendable, Equatable {
    public var claimed = 0
    public var completed = 0
    /// Attempts failed that will be retried.
    public var failed = 0
    public var discarded = 0
    public var timedOut = 0
    /// Jobs given back at shutdown.
    public var givenBack = 0
    /// Jobs handed back to wait for a signal (``JobOutcome/wait(for:until:)``).
    public var waited = 0
    /// Outcomes refused because the lease had been lost.
    public var leaseLost = 0
    /// Handlers cancelled by self-fencing (their leases could not be renewed in time).
    public var fenced = 0
    /// Handlers given up on more than three seconds ago (time limit, lost or fenced
    /// lease, shutdown) that still have not returned: alive but stuck.
    public var stuckHandlers = 0
    /// Jobs rescued by this runtime while it was the leader.
    public var rescued = 0
}
