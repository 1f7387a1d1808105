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
public final class JobRuntime: Service, Sendable {
    public let configuration: JobRuntimeConfiguration
    private let database: PostgresConfiguration
    private let handlers: [String: JobHandler]
    private let hooks: JobRuntimeHooks
    private let logger: Logger

    private let pool: ConnectionPool
    private let held: HeldJobs
    private let fetchSignal = WakeSignal()
    private let outcomeSignal = WakeSignal()
    private let outcomes = Mutex<[OutcomeReport]>([])
    private let stopping = Atomic<Bool>(false)
    private let fetchSaturated = Atomic<Bool>(false)
    /// Moving average of handler durations (seconds), for sizing the prefetch.
    private let averageDuration = Mutex<Double?>(nil)
    private let stopSignal = WakeSignal()
    private let listener = Mutex<PostgresConnection?>(nil)
    private let stats = Mutex(RuntimeStatistics())
    private let metrics: QueueMetrics
    /// Handlers given up on (time limit, lost or fenced lease, shutdown) that have not
    /// returned yet, by lease token, with when they were given up on.
    private let abandoned = Mutex<[UUID: ContinuousClock.Instant]>([:])
    /// Serialises computing and publishing the lease horizon (claims, heartbeats and the
    /// fence publish it from different tasks; a stale value must not overwrite a newer one).
    private let horizonPublisher = Mutex<Void>(())

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
        var database = configuration.boundingStatements(of: database)
        if database.applicationName == "taskforce" { database.applicationName = "queue-worker" }
        self.database = database
        self.configuration = configuration
        self.handlers = handlers
        self.hooks = hooks
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.workerName)"
        self.logger = logger
        self.pool = ConnectionPool(configuration: database, maximumConnections: configuration.connections)
        self.held = HeldJobs(slots: configuration.slots)
        self.metrics = QueueMetrics()
    }

    /// Counters of what this runtime did so far.
    public var statistics: RuntimeStatistics {
        var current = stats.withLock { $0 }
        let threshold = ContinuousClock.now - Self.stuckAfter
        current.stuckHandlers = abandoned.withLock { $0.values.filter { $0 < threshold }.count }
        return current
    }

    /// A handler that has not returned this long after it was cancelled counts as stuck.
    static let stuckAfter: Duration = .seconds(3)

    /// Asks the runtime to shut down gracefully; `run()` returns when it is done.
    public func stop() {
        guard !stopping.exchange(true, ordering: .sequentiallyConsistent) else { return }
        fetchSignal.signal()
        stopSignal.signal()
        listener.withLock { $0 }?.interruptWait()
    }

    /// Runs until ``stop()``, task cancellation or a graceful-shutdown signal.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await runUntilStopped()
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func runUntilStopped() async throws {
        logger.info("worker runtime starting", metadata: [
            "queues": "\(configuration.queues.joined(separator: ","))", "slots": "\(configuration.slots)",
            "mode": "\(configuration.pollOnly ? "poll-only" : "listen+poll")",
        ])
        let listenTask = configuration.pollOnly ? nil : Task { await listenLoop() }
        let heartbeatTask = Task { await heartbeatLoop() }
        let fenceTask = Task { await fenceLoop() }
        let maintenanceTask = configuration.maintenance.enabled ? Task { await maintenanceLoop() } : nil
        let flushTask = Task { await flushLoop() }

        await fetchLoop()
        held.stopStarting()

        // Graceful shutdown: let running jobs finish within the grace period…
        let graceEnd = ContinuousClock.now + configuration.shutdownGracePeriod
        while held.busySlots > 0, ContinuousClock.now < graceEnd {
            try? await Task.sleep(for: .milliseconds(10))
        }
        // …then cancel the rest; they are given back without burning an attempt.
        let unfinished = held.unreported()
        if !unfinished.isEmpty {
            logger.notice("grace period over: cancelling and giving back jobs", metadata: ["jobs": "\(unfinished.count)"])
            giveUp(on: held.cancel(unfinished, reason: .shutdown).compactMap { held.token(of: $0) })
            let hardEnd = ContinuousClock.now + .seconds(5)
            while held.busySlots > 0, ContinuousClock.now < hardEnd {
                try? await Task.sleep(for: .milliseconds(10))
            }
            // Handlers that ignore cancellation: give their jobs back anyway.
            for job in held.takeUnreported() {
                submit(OutcomeReport(job: job, kind: .giveBack, duration: 0))
            }
        }
        // Commit every outcome still pending, then stop the helpers.
        while held.count > 0 {
            outcomeSignal.signal()
            try? await Task.sleep(for: .milliseconds(5))
            if ContinuousClock.now > graceEnd + .seconds(30) {
                logger.error("could not commit every outcome before exiting; their leases will lapse and the jobs will be rescued",
                             metadata: ["jobs": "\(held.count)"])
                break
            }
        }
        flushTask.cancel()
        heartbeatTask.cancel()
        fenceTask.cancel()
        listenTask?.cancel()
        listener.withLock { $0 }?.interruptWait()
        maintenanceTask?.cancel()
        await flushTask.value
        await heartbeatTask.value
        await fenceTask.value
        configuration.onLeaseHorizon?(nil)
        await listenTask?.value
        await maintenanceTask?.value
        await pool.close()
        logger.info("worker runtime stopped", metadata: ["completed": "\(statistics.completed)"])
    }

    // MARK: Fetching

    private func fetchLoop() async {
        // A maintenance-only runtime serves no queue: it claims nothing until stopped.
        if configuration.queues.isEmpty {
            while !stopping.load(ordering: .relaxed) { await fetchSignal.wait(timeout: .seconds(1)) }
            return
        }
        var failures = 0
        var rotation = 0
        while !stopping.load(ordering: .relaxed) {
            let prefetch = currentPrefetch()
            let capacity = configuration.slots + prefetch
            // Claim for the free slots plus a prefetch buffer, so that a slot freed by a
            // quick job starts the next one without a round trip, and claims come in
            // batches rather than one by one.
            // Outcomes not yet committed do not take room, unless they pile up (the
            // database is slower than the handlers): then claiming pauses.
            let room = capacity - held.activeCount
            let backlogged = held.count - held.activeCount > 4 * capacity
            if room <= 0 || backlogged || (held.waitingCount > prefetch / 2 && held.busySlots == configuration.slots) {
                fetchSaturated.store(true, ordering: .relaxed)
                await fetchSignal.wait(timeout: configuration.pollInterval)
                continue
            }
            let limit = min(room, configuration.fetchLimit)
            // Rotate the queue order so that no queue starves the others.
            var queues = configuration.queues
            if queues.count > 1 {
                rotation = (rotation + 1) % queues.count
                queues = Array(queues[rotation...] + queues[..<rotation])
            }
            let jobs: [Job]
            let claimStarted = ContinuousClock.now
            do {
                jobs = try await pool.withConnection { connection in
                    try await JobQueue.claim(
                        queues: queues, limit: limit, lease: configuration.lease,
                        worker: configuration.workerName, on: connection)
                }
                failures = 0
            } catch {
                failures += 1
                let delay = Self.backoff(failures)
                logger.warning("claim failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                await fetchSignal.wait(timeout: delay)
                continue
            }
            for job in jobs { take(job, leaseUntil: claimStarted + configuration.lease) }
            if !jobs.isEmpty { publishLeaseHorizon() }
            if jobs.count == limit {
                fetchSaturated.store(true, ordering: .relaxed)
                continue
            }
            fetchSaturated.store(false, ordering: .relaxed)
            await fetchSignal.wait(timeout: configuration.pollInterval)
        }
    }

    /// Jobs to claim ahead of free slots: about `prefetchWindow` of work per slot at the
    /// recent average handler duration, between 1 and `prefetch`.
    private func currentPrefetch() -> Int {
        guard let average = averageDuration.withLock({ $0 }), average > 0 else { return configuration.slots }
        let window = Self.seconds(configuration.prefetchWindow)
        let jobs = Double(configuration.slots) * window / average
        return max(1, min(configuration.prefetch, Int(jobs.isFinite ? jobs : Double(configuration.prefetch))))
    }

    private func take(_ job: Job, leaseUntil: ContinuousClock.Instant) {
        metrics.started(job)
        stats.withLock { $0.claimed += 1 }
        if held.add(job, leaseUntil: leaseUntil) { launch(job) }
    }

    private func launch(_ job: Job) {
        let task = Task { await self.execute(job) }
        held.attach(task, to: job.id)
    }

    // MARK: Executing

    private enum Attempt: Sendable {
        case finished(Result<JobOutcome, any Error>)
        case timedOut
        case timerStopped
    }

    private func execute(_ job: Job) async {
        let started = ContinuousClock.now
        let limit = configuration.timeLimit(for: job)
        defer {
            _ = abandoned.withLock { $0.removeValue(forKey: job.lease.token) }
            if let next = held.slotFreed() { launch(next) }
            if fetchSaturated.load(ordering: .relaxed), held.waitingCount <= currentPrefetch() / 2 { fetchSignal.signal() }
        }
        guard let handler = handlers[job.kind] else {
            jobLogger(job).error("no handler for this job kind")
            report(job, .fail(error: "no handler registered for kind \(job.kind) on worker \(configuration.workerName)",
                              retryDelay: configuration.retryStrategy(for: job.kind).delay(afterAttempt: job.attempt), discard: false),
                   started: started)
            return
        }
        await withTaskGroup(of: Attempt.self) { group in
            group.addTask {
                do { return .finished(.success(try await handler(job))) } catch { return .finished(.failure(error)) }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: limit)
                    return .timedOut
                } catch {
                    return .timerStopped
                }
            }
            while let attempt = await group.next() {
                switch attempt {
                case .timerStopped:
                    continue
                case .timedOut:
                    let seconds = Self.seconds(limit)
                    jobLogger(job).warning("time limit exceeded; cancelling the handler", metadata: ["limit_s": "\(seconds)"])
                    stats.withLock { $0.timedOut += 1 }
                    switch held.cancelReason(of: job.id) {
                    case nil:
                        report(job, .fail(
                            error: "time limit exceeded after \(Self.format(seconds)) s",
                            retryDelay: configuration.retryStrategy(for: job.kind).delay(afterAttempt: job.attempt),
                            discard: false), started: started)
                    case .shutdown?:
                        report(job, .giveBack, started: started)
                    case .leaseLost?, .fenced?:
                        held.release([job.id])
                    }
                    giveUp(on: [job.lease.token])
                    group.cancelAll()
                    // The slot stays busy until the handler returns, however long it takes.
                    while let late = await group.next() {
                        if case .finished = late { break }
                    }
                    return
                case .finished(let result):
                    group.cancelAll()
                    finish(job, result, started: started)
                    return
                }
            }
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

    private func finish(_ job: Job, _ result: Result<JobOutcome, any Error>, started: ContinuousClock.Instant) {
        switch held.cancelReason(of: job.id) {
        case .shutdown?:
            report(job, .giveBack, started: started)
            return
        case .leaseLost?:
            jobLogger(job).warning("lease lost while running; the outcome is dropped (the job was rescued or cancelled)")
            held.release([job.id])
            return
        case .fenced?:
            jobLogger(job).warning("lease could not be renewed in time; the outcome is dropped (self-fenced; the job will be rescued)")
            held.release([job.id])
            return
        case nil:
            break
        }
        switch result {
        case .success(.completed(let output)):
            report(job, .complete(result: output), started: started)
        case .success(.snooze(let delay)):
            report(job, .snooze(delay), started: started)
        case .success(.cancel(let reason)):
            report(job, .cancel(reason: reason), started: started)
        case .success(.discard(let reason)):
            report(job, .fail(error: reason, retryDelay: .zero, discard: true), started: started)
        case .failure(let error):
            jobLogger(job).info("attempt failed", metadata: ["attempt": "\(job.attempt)", "error": "\(error)"])
            report(job, .fail(
                error: String(describing: error),
                retryDelay: configuration.retryStrategy(for: job.kind).delay(afterAttempt: job.attempt),
                discard: false), started: started)
        }
    }

    private func report(_ job: Job, _ kind: OutcomeReport.Kind, started: ContinuousClock.Instant) {
        held.markReported(job.id)
        let duration = Self.seconds(ContinuousClock.now - started)
        averageDuration.withLock { $0 = $0.map { $0 * 0.9 + duration * 0.1 } ?? duration }
        submit(OutcomeReport(job: job, kind: kind, duration: Self.seconds(ContinuousClock.now - started)))
    }

    private func submit(_ report: OutcomeReport) {
        outcomes.withLock { $0.append(report) }
        outcomeSignal.signal()
    }

    // MARK: Committing outcomes

    private func flushLoop() async {
        var failures = 0
        while true {
            let batch = outcomes.withLock { pending -> [OutcomeReport] in
                let taken = Array(pending.prefix(configuration.completionBatchLimit))
                pending.removeFirst(taken.count)
                return taken
            }
            if batch.isEmpty {
                if Task.isCancelled { return }
                await outcomeSignal.wait(timeout: .seconds(1))
                continue
            }
            do {
                try await commit(batch)
                failures = 0
            } catch let error as PostgresError where error.isConnectionError || error.code == .poolTimeout {
                failures += 1
                let delay = Self.backoff(failures)
                logger.warning("committing outcomes failed; retrying", metadata: ["error": "\(error)", "jobs": "\(batch.count)"])
                outcomes.withLock { $0.insert(contentsOf: batch, at: 0) }
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
            outcomes.withLock { $0.insert(report, at: 0) }
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
            held.release([report.job.id])
        }
    }

    private func commit(_ batch: [OutcomeReport]) async throws {
        var completes: [(OutcomeReport, String?)] = []
        var failures: [(OutcomeReport, JobQueue.Failure)] = []
        var snoozes: [OutcomeReport] = []
        var cancels: [(OutcomeReport, String)] = []
        var givebacks: [OutcomeReport] = []
        for report in batch {
            switch report.kind {
            case .complete(let result): completes.append((report, result))
            case .fail(let error, let delay, let discard):
                failures.append((report, JobQueue.Failure(lease: report.job.lease, error: error, retryDelay: delay, discard: discard)))
            case .snooze: snoozes.append(report)
            case .cancel(let reason): cancels.append((report, reason))
            case .giveBack: givebacks.append(report)
            }
        }
        let hooks = self.hooks
        // One kind of outcome and nothing of the caller's to write: one statement,
        // autocommitted — one round trip instead of three.
        let kinds = [!completes.isEmpty, !failures.isEmpty, !snoozes.isEmpty, !cancels.isEmpty, !givebacks.isEmpty].filter { $0 }.count
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
            for (report, reason) in cancels {
                try await JobQueue.cancelHeld([report.job.lease], reason: reason, on: connection)
            }
            try await JobQueue.giveBack(givebacks.map(\.job.lease), on: connection)
            return (completed, states)
        }
        let (completed, failedStates) = single
            ? try await pool.withConnection { try await write($0) }
            : try await pool.transaction { try await write($0) }
        // Bookkeeping after the commit.
        var lost = 0
        stats.withLock { stats in
            for (report, _) in completes {
                if completed.contains(report.job.lease) { stats.completed += 1 } else { lost += 1 }
            }
            for (report, _) in failures {
                switch failedStates[report.job.lease] {
                case .discarded?: stats.discarded += 1
                case nil: lost += 1
                default: stats.failed += 1
                }
            }
            stats.givenBack += givebacks.count
            stats.leaseLost += lost
        }
        for (report, _) in completes where completed.contains(report.job.lease) { metrics.completed(report.job, duration: report.duration) }
        for (report, _) in failures { metrics.failed(report.job, discarded: failedStates[report.job.lease] == .discarded) }
        if lost > 0 {
            logger.warning("outcomes refused: leases were lost before commit (jobs rescued or cancelled)", metadata: ["jobs": "\(lost)"])
        }
        held.release(batch.map(\.job.id))
        if fetchSaturated.load(ordering: .relaxed) { fetchSignal.signal() }
    }

    // MARK: Heartbeats

    private func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            if Task.isCancelled { return }
            let leases = held.leases()
            guard !leases.isEmpty else { continue }
            let started = ContinuousClock.now
            do {
                let kept = try await pool.withConnection { connection in
                    try await JobQueue.extendLeases(leases, by: configuration.lease, on: connection)
                }
                held.renewed(kept, until: started + configuration.lease)
                publishLeaseHorizon()
                // A job missing from the answer either lost its lease, or was completed
                // between the snapshot and the statement; only the former is cancelled.
                let lost = held.cancel(leases.map(\.id).filter { !kept.contains($0) }, reason: .leaseLost)
                giveUp(on: lost.compactMap { id in leases.first { $0.id == id }?.token })
                if !lost.isEmpty {
                    logger.warning("leases lost; cancelled their handlers", metadata: ["jobs": "\(lost)"])
                }
            } catch {
                logger.warning("heartbeat failed; retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Self-fencing

    /// Cancels the handlers whose leases are about to lapse unrenewed. Runs apart from
    /// the heartbeat, which may itself be stuck in a statement.
    private func fenceLoop() async {
        let margin = configuration.effectiveSelfFenceMargin
        let tick = min(Duration.seconds(1), configuration.lease / 10)
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            let fenced = held.fence(before: ContinuousClock.now + margin)
            guard !fenced.isEmpty else { continue }
            stats.withLock { $0.fenced += fenced.count }
            giveUp(on: fenced.compactMap { held.token(of: $0) })
            publishLeaseHorizon()
            logger.error("leases could not be renewed in time; cancelled their handlers before the leases lapse (self-fencing)",
                         metadata: ["jobs": "\(fenced)", "margin": "\(margin)"])
        }
    }

    /// Tells ``JobRuntimeConfiguration/onLeaseHorizon`` when the earliest held lease
    /// ends, less the fencing margin.
    private func publishLeaseHorizon() {
        guard let callback = configuration.onLeaseHorizon else { return }
        horizonPublisher.withLock { _ in
            guard let end = held.earliestLeaseEnd() else { callback(nil); return }
            let remaining = Self.seconds(end - ContinuousClock.now - configuration.effectiveSelfFenceMargin)
            callback(Date().addingTimeInterval(remaining))
        }
    }

    private func giveUp(on tokens: [UUID]) {
        guard !tokens.isEmpty else { return }
        let now = ContinuousClock.now
        abandoned.withLock { for token in tokens where $0[token] == nil { $0[token] = now } }
    }

    // MARK: LISTEN

    private func listenLoop() async {
        var failures = 0
        let queues = Set(configuration.queues)
        while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
            do {
                let connection = try await PostgresConnection.connect(database)
                listener.withLock { $0 = connection }
                defer { listener.withLock { $0 = nil } }
                try await connection.listen(QueueNotifications.channel)
                // Jobs may have arrived while we were not listening.
                fetchSignal.signal()
                failures = 0
                while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
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
                await stopSignal.wait(timeout: delay)
            }
        }
    }

    // MARK: Maintenance

    private func maintenanceLoop() async {
        let settings = configuration.maintenance
        var leading = false
        var lastPrune = ContinuousClock.now - settings.pruneInterval
        var mayVacuum: Bool?
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
                    // Rescue and the application's record of the lost attempts commit together.
                    let hooks = self.hooks
                    let rescue = try await connection.transaction { tx in
                        let report = try await QueueMaintenance.rescueExpired(on: tx)
                        if let didRescue = hooks.didRescue, !report.rescuedJobs.isEmpty { try await didRescue(report.rescuedJobs, tx) }
                        return report
                    }
                    let promote = try await QueueMaintenance.promoteDue(on: connection)
                    if rescue.rescued + rescue.discardedByRescue > 0 {
                        logger.notice("rescued jobs with expired leases", metadata: [
                            "rescued": "\(rescue.rescued)", "discarded": "\(rescue.discardedByRescue)"])
                        metrics.rescued(rescue.rescued + rescue.discardedByRescue)
                    }
                    stats.withLock { $0.rescued += rescue.rescued + rescue.discardedByRescue }
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

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.3g", seconds)
    }
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
