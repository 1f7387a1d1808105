import Foundation

/// Why the runtime cancelled a handler.
enum CancelReason: Sendable, Equatable {
    /// Shutdown grace period over: give the job back without burning the attempt.
    case shutdown
    /// The heartbeat found the lease gone (rescued or cancelled by an operator), or this
    /// process claimed the same job again under a newer lease.
    case leaseLost
    /// Self-fencing: the lease could not be renewed and is about to lapse (the database
    /// is unreachable, the process was frozen); the job will be rescued and run
    /// elsewhere, so this attempt must stop first.
    case fenced
    /// The attempt's time limit passed; its failure is already recorded.
    case timeLimit

    /// The job is no longer ours: its outcome is dropped, never committed.
    var dropsOutcome: Bool { self == .leaseLost || self == .fenced }
}

/// What the I/O shell (``JobRuntime``) must do after an event.
enum RuntimeAction: Sendable {
    /// Run the job's handler in a slot.
    case start(Job)
    /// Cancel these handlers (leases whose handler has not started are simply dropped).
    case cancel([JobLease], CancelReason)
    /// Claim now (the fetch loop's waiting is over).
    case wakeFetcher
    /// Outcomes are waiting to be committed.
    case wakeFlusher
    /// Something the shutdown sequence waits for happened (a handler returned, a batch committed).
    case drainProgress
    /// Tell ``JobRuntimeConfiguration/onLeaseHorizon`` this moment (nil: nothing held).
    /// Publications are numbered: an older one must never overwrite a newer one.
    case publishHorizon(ContinuousClock.Instant?, version: UInt64)
    /// A handler returned after its lease was lost or fenced; its outcome was dropped.
    case outcomeDropped(Job, CancelReason)
    /// A handler failed its attempt (for the log).
    case attemptFailed(Job, error: String)
    /// A handler overran its time limit (seconds) and is being cancelled.
    case timeLimitExceeded(Job, seconds: Double)
    /// The grace period ended with handlers still running.
    case graceOver(unfinished: Int)
    /// The database refused outcomes of this many jobs: their leases were lost before commit.
    case outcomesRefused(Int)
}

/// The job runtime's decisions, without I/O: what to claim, which job a slot runs next,
/// which handlers to cancel, what to commit, and when shutdown is done. The shell feeds
/// it events (a claim's answer, a handler returning, a heartbeat's answer, a clock tick)
/// and performs the ``RuntimeAction``s it returns. Time comes in with each event, as
/// instants of a monotonic clock, so tests drive it without sleeping.
///
/// Jobs are held **by lease** (job id and lease token): when a job this process still
/// holds is rescued and claimed again here, the two attempts are two entries, the older
/// one is cancelled as lost, and the newer one keeps its heartbeat.
///
/// Modes: `polling` (room for more jobs; the fetcher waits for NOTIFY or the poll
/// interval), `saturated` (slots and prefetch buffer full, or the last claim was full),
/// `backlogged` (outcomes wait for the database: claiming pauses), `draining` (shutdown:
/// no claims, no new starts; handlers finish, then are cancelled and given back) and
/// `stopped` (every outcome settled; the loops end).
struct RuntimeStateMachine: Sendable {
    enum Mode: Sendable, Equatable {
        case polling, saturated, backlogged, draining, stopped
    }

    enum FetchDecision: Sendable {
        case claim(limit: Int, queues: [String])
        /// Wait for a wake-up or the poll interval.
        case wait
        /// Shutting down: the fetcher ends.
        case stop
    }

    enum CommitDecision: Sendable {
        case commit([OutcomeReport])
        case wait
        /// Stopped and nothing left: the flusher ends.
        case stop
    }

    /// A job claimed and not yet settled by the database (its outcome committed, or
    /// dropped because its lease is gone).
    struct Held: Sendable {
        enum Phase: Sendable, Equatable {
            /// Prefetched: waiting for a slot.
            case waiting
            case running
            /// Its outcome is decided and waits for (or is in) a commit.
            case reported
        }

        let job: Job
        /// Until when the lease is known to hold, by this process's clock: measured from
        /// before the statement that claimed or last extended it, so never later than
        /// the database's own expiry.
        var leaseUntil: ContinuousClock.Instant
        var phase: Phase
        var cancelReason: CancelReason?

        /// Not ours any more: not heartbeated, not fenced, its outcome dropped.
        var isLost: Bool { cancelReason?.dropsOutcome == true }
    }

    /// A handler executing in a slot. It keeps its slot until it returns, even when its
    /// outcome was decided without it (time limit) or its job is no longer held.
    struct Handler: Sendable {
        let job: Job
        let started: ContinuousClock.Instant
        /// When the runtime gave up on it (time limit, lost or fenced lease, shutdown).
        var abandonedSince: ContinuousClock.Instant?
        /// Its outcome was decided at the time limit or shutdown's end; its return only frees the slot.
        var settled = false
    }

    /// A handler that has not returned this long after it was given up on counts as stuck.
    static let stuckAfter: Duration = .seconds(3)

    let configuration: JobRuntimeConfiguration
    private(set) var mode: Mode = .polling
    private(set) var held: [JobLease: Held] = [:]
    private(set) var handlers: [JobLease: Handler] = [:]
    /// The newest held lease of each job id (a job claimed again supersedes the older).
    private var newestLease: [Int64: JobLease] = [:]
    /// Prefetched jobs waiting for a slot, oldest first.
    private(set) var waiting: [JobLease] = []
    /// Outcomes to commit, oldest first.
    private(set) var pending: [OutcomeReport] = []
    /// Moving average of handler durations (seconds), for sizing the prefetch.
    private(set) var averageDuration: Double?
    private(set) var statistics = RuntimeStatistics()
    private var saturated = false
    private var rotation = 0
    private var horizonVersion: UInt64 = 0
    /// Shutdown's grace period is over: whatever has not started is given back at once.
    private var graceHasExpired = false
    /// Claims sent and not answered yet. Their jobs are already `running` in the
    /// database: a shutdown waits for the answer, so that they are given back rather than
    /// left to lapse and be rescued.
    private(set) var claimsInFlight = 0

    init(configuration: JobRuntimeConfiguration) {
        self.configuration = configuration
    }

    // MARK: Queries

    var isDraining: Bool { mode == .draining || mode == .stopped }
    var busySlots: Int { handlers.count }
    /// Every claimed job settled: nothing left to commit or to wait for.
    var isSettled: Bool { held.isEmpty && pending.isEmpty && claimsInFlight == 0 }

    /// Jobs to claim ahead of free slots: about `prefetchWindow` of work per slot at the
    /// recent average handler duration, between 1 and `prefetch`.
    var currentPrefetch: Int {
        guard let average = averageDuration, average > 0 else { return configuration.slots }
        let window = RetryStrategy.seconds(configuration.prefetchWindow)
        let jobs = Double(configuration.slots) * window / average
        return max(1, min(configuration.prefetch, Int(jobs.isFinite ? jobs : Double(configuration.prefetch))))
    }

    /// The counters, with the handlers given up on more than ``stuckAfter`` before `now`.
    func statistics(at now: ContinuousClock.Instant) -> RuntimeStatistics {
        var current = statistics
        let threshold = now - Self.stuckAfter
        current.stuckHandlers = handlers.values.filter { ($0.abandonedSince ?? now) < threshold }.count
        return current
    }

    /// Leases to extend: every held job that is still ours (running, waiting, or with
    /// its outcome waiting for commit). At most one per job id.
    func heartbeatDue() -> [JobLease] {
        held.values.filter { !$0.isLost }.map(\.job.lease)
    }

    /// The earliest lease end among held jobs whose handler may still run, less the
    /// fencing margin: the moment their handlers must be gone.
    var leaseHorizon: ContinuousClock.Instant? {
        held.values.lazy
            .filter { $0.phase != .reported && !$0.isLost }
            .map(\.leaseUntil).min()
            .map { $0 - configuration.effectiveSelfFenceMargin }
    }

    // MARK: Fetching

    /// Whether to claim now, and how many from which queues.
    mutating func fetchDue() -> FetchDecision {
        if isDraining { return .stop }
        // A maintenance-only runtime serves no queue: it claims nothing until stopped.
        if configuration.queues.isEmpty { return .wait }
        let prefetch = currentPrefetch
        let capacity = configuration.slots + prefetch
        // Claim for the free slots plus a prefetch buffer, so that a slot freed by a
        // quick job starts the next one without a round trip, and claims come in
        // batches rather than one by one. Outcomes not yet committed do not take room,
        // unless they pile up (the database is slower than the handlers): then
        // claiming pauses.
        let active = handlers.count + waiting.count
        let room = capacity - active
        let uncommitted = held.count - active
        if uncommitted > 4 * capacity {
            saturated = true
            mode = .backlogged
            return .wait
        }
        if room <= 0 || (waiting.count > prefetch / 2 && handlers.count >= configuration.slots) {
            saturated = true
            mode = .saturated
            return .wait
        }
        // Rotate the queue order so that no queue starves the others.
        var queues = configuration.queues
        if queues.count > 1 {
            rotation = (rotation + 1) % queues.count
            queues = Array(queues[rotation...] + queues[..<rotation])
        }
        claimsInFlight += 1
        return .claim(limit: min(room, configuration.fetchLimit), queues: queues)
    }

    /// A claim failed (the statement or its session): nothing was claimed, or what was
    /// is rescued when its lease lapses.
    mutating func claimFailed() -> [RuntimeAction] {
        claimsInFlight = max(0, claimsInFlight - 1)
        return isDraining ? [.drainProgress] : []
    }

    /// A claim answered with `jobs` (of `limit` asked for). Their leases hold for the
    /// lease from `leasedAt`, an instant from before the statement.
    mutating func claimed(_ jobs: [Job], limit: Int, leasedAt: ContinuousClock.Instant, at now: ContinuousClock.Instant) -> [RuntimeAction] {
        claimsInFlight = max(0, claimsInFlight - 1)
        var actions: [RuntimeAction] = isDraining ? [.drainProgress] : []
        for job in jobs {
            statistics.claimed += 1
            actions += supersede(job.id, at: now)
            held[job.lease] = Held(job: job, leaseUntil: leasedAt + configuration.lease, phase: .waiting)
            newestLease[job.id] = job.lease
            waiting.append(job.lease)
        }
        actions += startWaiting(at: now)
        if graceHasExpired { actions += giveBackUnstarted() }
        if !isDraining {
            // A full claim: there is probably more, claim again at once.
            saturated = jobs.count == limit
            mode = saturated ? .saturated : .polling
            if saturated { actions.append(.wakeFetcher) }
        }
        if !jobs.isEmpty { actions += publishHorizon() }
        return actions
    }

    /// A job claimed again while an older lease of it is still held here (it was rescued
    /// meanwhile): the older lease is lost. Its handler is cancelled; if it had not
    /// started, it is dropped.
    private mutating func supersede(_ id: Int64, at now: ContinuousClock.Instant) -> [RuntimeAction] {
        guard let older = newestLease[id], held[older]?.isLost == false else { return [] }
        held[older]?.cancelReason = .leaseLost
        return lose([older], reason: .leaseLost, at: now)
    }

    /// Forgets a held job: settled by the database, or not ours any more.
    private mutating func release(_ lease: JobLease) {
        held[lease] = nil
        if newestLease[lease.id] == lease { newestLease[lease.id] = nil }
    }

    /// Starts waiting jobs in the free slots.
    private mutating func startWaiting(at now: ContinuousClock.Instant) -> [RuntimeAction] {
        var actions: [RuntimeAction] = []
        while !isDraining, handlers.count < configuration.slots, !waiting.isEmpty {
            let lease = waiting.removeFirst()
            guard var entry = held[lease], entry.phase == .waiting, !entry.isLost else { continue }
            entry.phase = .running
            held[lease] = entry
            handlers[lease] = Handler(job: entry.job, started: now)
            actions.append(.start(entry.job))
        }
        return actions
    }

    // MARK: Executing

    /// A handler returned with `result`.
    mutating func handlerReturned(_ lease: JobLease, _ result: Result<JobOutcome, any Error>, at now: ContinuousClock.Instant) -> [RuntimeAction] {
        guard let handler = handlers.removeValue(forKey: lease) else { return [] }
        var actions: [RuntimeAction] = []
        if !handler.settled, let entry = held[lease] {
            switch entry.cancelReason {
            case .shutdown?:
                actions += report(entry.job, .giveBack, started: handler.started, at: now)
            case .leaseLost?, .fenced?:
                release(lease)
                actions.append(.outcomeDropped(entry.job, entry.cancelReason!))
            case .timeLimit?, nil:
                actions += report(entry.job, outcome(of: result, for: entry.job, actions: &actions), started: handler.started, at: now)
            }
        }
        actions += startWaiting(at: now)
        if saturated, waiting.count <= currentPrefetch / 2 { actions.append(.wakeFetcher) }
        if isDraining { actions.append(.drainProgress) }
        return actions
    }

    /// A handler overran its time limit: its attempt fails now (or, after a shutdown
    /// cancel, it is given back), and it is cancelled; its slot stays busy until it returns.
    mutating func timeLimitHit(_ lease: JobLease, at now: ContinuousClock.Instant) -> [RuntimeAction] {
        guard var handler = handlers[lease], !handler.settled else { return [] }
        let limit = configuration.timeLimit(for: handler.job)
        let seconds = RetryStrategy.seconds(limit)
        statistics.timedOut += 1
        handler.settled = true
        handler.abandonedSince = handler.abandonedSince ?? now
        handlers[lease] = handler
        var actions: [RuntimeAction] = [.timeLimitExceeded(handler.job, seconds: seconds), .cancel([lease], .timeLimit)]
        if let entry = held[lease] {
            switch entry.cancelReason {
            case nil, .timeLimit?:
                actions += report(entry.job, .fail(
                    error: "time limit exceeded after \(Self.format(seconds)) s",
                    retryDelay: configuration.retryStrategy(for: entry.job.kind).delay(afterAttempt: entry.job.attempt),
                    discard: false), started: handler.started, at: now)
            case .shutdown?:
                actions += report(entry.job, .giveBack, started: handler.started, at: now)
            case .leaseLost?, .fenced?:
                release(lease)
            }
        }
        return actions
    }

    private func outcome(of result: Result<JobOutcome, any Error>, for job: Job, actions: inout [RuntimeAction]) -> OutcomeReport.Kind {
        switch result {
        case .success(.completed(let output)):
            return .complete(result: output)
        case .success(.snooze(let delay)):
            return .snooze(delay)
        case .success(.wait(let key, let until)):
            // A key the database would refuse fails the attempt here, rather than the
            // whole batch's commit.
            guard !key.isEmpty, key.utf8.count <= 512 else {
                let text = "invalid wait: the key must be 1…512 bytes, got \(key.utf8.count)"
                actions.append(.attemptFailed(job, error: text))
                return .fail(error: text, retryDelay: configuration.retryStrategy(for: job.kind).delay(afterAttempt: job.attempt), discard: false)
            }
            return .wait(key: key, until: until)
        case .success(.cancel(let reason)):
            return .cancel(reason: reason)
        case .success(.discard(let reason)):
            return .fail(error: reason, retryDelay: .zero, discard: true)
        case .failure(let error):
            let text = String(describing: error)
            actions.append(.attemptFailed(job, error: text))
            return .fail(error: text, retryDelay: configuration.retryStrategy(for: job.kind).delay(afterAttempt: job.attempt), discard: false)
        }
    }

    private mutating func report(_ job: Job, _ kind: OutcomeReport.Kind, started: ContinuousClock.Instant, at now: ContinuousClock.Instant) -> [RuntimeAction] {
        held[job.lease]?.phase = .reported
        let duration = RetryStrategy.seconds(now - started)
        averageDuration = averageDuration.map { $0 * 0.9 + duration * 0.1 } ?? duration
        pending.append(OutcomeReport(job: job, kind: kind, duration: duration))
        return [.wakeFlusher]
    }

    // MARK: Leases

    /// A heartbeat that sent `sent` (``heartbeatDue()``) from `leasedAt` came back with
    /// the ids whose leases it extended. The others are lost: their handlers are
    /// cancelled and their outcomes dropped. A lease released meanwhile (its outcome
    /// committed) or no longer held is left alone.
    mutating func heartbeatAnswered(sent: [JobLease], kept: Set<Int64>, leasedAt: ContinuousClock.Instant, at now: ContinuousClock.Instant) -> [RuntimeAction] {
        var lost: [JobLease] = []
        for lease in sent {
            guard var entry = held[lease] else { continue }
            if kept.contains(lease.id) {
                entry.leaseUntil = max(entry.leaseUntil, leasedAt + configuration.lease)
                held[lease] = entry
            } else if entry.phase != .reported {
                // A reported outcome is left to its commit, which the database refuses.
                if entry.cancelReason == nil { held[lease]?.cancelReason = .leaseLost }
                lost.append(lease)
            }
        }
        return lose(lost, reason: .leaseLost, at: now) + publishHorizon()
    }

    /// Cancels the handlers whose leases would lapse unrenewed within the fencing margin
    /// (self-fencing). A fenced job that had not started is dropped.
    mutating func fenceTick(at now: ContinuousClock.Instant) -> [RuntimeAction] {
        let horizon = now + configuration.effectiveSelfFenceMargin
        let fenced = held.values
            .filter { $0.phase != .reported && $0.cancelReason == nil && $0.leaseUntil <= horizon }
            .map(\.job.lease)
        guard !fenced.isEmpty else { return [] }
        for lease in fenced { held[lease]?.cancelReason = .fenced }
        statistics.fenced += fenced.count
        return lose(fenced, reason: .fenced, at: now) + publishHorizon()
    }

    /// Gives up on `leases`, already marked with `reason`: waiting ones are dropped at
    /// once, running ones are cancelled.
    private mutating func lose(_ leases: [JobLease], reason: CancelReason, at now: ContinuousClock.Instant) -> [RuntimeAction] {
        guard !leases.isEmpty else { return [] }
        for lease in leases {
            if held[lease]?.phase == .waiting {
                release(lease)
                waiting.removeAll { $0 == lease }
            } else {
                abandon(lease, at: now)
            }
        }
        return [.cancel(leases, reason)]
    }

    /// Records when the runtime gave up on a running handler (the first time only).
    private mutating func abandon(_ lease: JobLease, at now: ContinuousClock.Instant) {
        guard var handler = handlers[lease], handler.abandonedSince == nil else { return }
        handler.abandonedSince = now
        handlers[lease] = handler
    }

    private mutating func publishHorizon() -> [RuntimeAction] {
        guard configuration.onLeaseHorizon != nil else { return [] }
        horizonVersion &+= 1
        return [.publishHorizon(leaseHorizon, version: horizonVersion)]
    }

    /// The final publication: nothing is held any more.
    mutating func horizonCleared() -> [RuntimeAction] {
        guard configuration.onLeaseHorizon != nil else { return [] }
        horizonVersion &+= 1
        return [.publishHorizon(nil, version: horizonVersion)]
    }

    // MARK: Committing

    /// The next batch to commit, oldest outcomes first.
    mutating func commitDue() -> CommitDecision {
        if pending.isEmpty { return mode == .stopped ? .stop : .wait }
        let batch = Array(pending.prefix(configuration.completionBatchLimit))
        pending.removeFirst(batch.count)
        return .commit(batch)
    }

    /// `batch` committed: of its completions those in `completed` were recorded, of its
    /// failures those in `failedStates`; the rest were refused (leases lost before commit).
    mutating func commitSucceeded(_ batch: [OutcomeReport], completed: Set<JobLease>, failedStates: [JobLease: JobState]) -> [RuntimeAction] {
        var lost = 0
        for report in batch {
            switch report.kind {
            case .complete:
                if completed.contains(report.job.lease) { statistics.completed += 1 } else { lost += 1 }
            case .fail:
                switch failedStates[report.job.lease] {
                case .discarded?: statistics.discarded += 1
                case nil: lost += 1
                default: statistics.failed += 1
                }
            case .giveBack:
                statistics.givenBack += 1
            case .wait:
                statistics.waited += 1
            case .snooze, .cancel:
                break
            }
            release(report.job.lease)
        }
        statistics.leaseLost += lost
        var actions: [RuntimeAction] = lost > 0 ? [.outcomesRefused(lost)] : []
        if saturated { actions.append(.wakeFetcher) }
        if isDraining { actions.append(.drainProgress) }
        return actions
    }

    /// `batch` could not be committed for now (connection lost): it goes back to the
    /// front, to be retried in order.
    mutating func commitFailed(_ batch: [OutcomeReport]) {
        pending.insert(contentsOf: batch, at: 0)
    }

    /// An outcome that cannot be recorded at all: its job is let go (its lease will
    /// lapse and the leader rescues it).
    mutating func outcomeAbandoned(_ report: OutcomeReport) -> [RuntimeAction] {
        release(report.job.lease)
        return isDraining ? [.drainProgress] : []
    }

    // MARK: Shutdown

    /// Graceful shutdown begins: no more claims, no more starts.
    mutating func shutdownRequested() -> [RuntimeAction] {
        guard !isDraining else { return [] }
        mode = .draining
        return [.wakeFetcher, .drainProgress]
    }

    /// The grace period is over: running handlers are cancelled (their jobs will be
    /// given back when they return), and jobs that never started are given back now.
    mutating func graceExpired(at now: ContinuousClock.Instant) -> [RuntimeAction] {
        graceHasExpired = true
        var actions = giveBackUnstarted()
        let running = held.values.filter { $0.phase == .running && $0.cancelReason == nil }.map(\.job.lease)
        for lease in running {
            held[lease]?.cancelReason = .shutdown
            abandon(lease, at: now)
        }
        let unfinished = handlers.values.filter { !$0.settled }.count
        if unfinished > 0 { actions.append(.graceOver(unfinished: unfinished)) }
        if !running.isEmpty { actions.append(.cancel(running, .shutdown)) }
        return actions
    }

    /// Gives back the prefetched jobs that never started.
    private mutating func giveBackUnstarted() -> [RuntimeAction] {
        let unstarted = waiting.compactMap { held[$0] }.filter { $0.phase == .waiting && !$0.isLost }
        waiting.removeAll()
        guard !unstarted.isEmpty else { return [] }
        for entry in unstarted {
            held[entry.job.lease]?.phase = .reported
            pending.append(OutcomeReport(job: entry.job, kind: .giveBack, duration: 0))
        }
        return [.wakeFlusher]
    }

    /// Handlers that ignored their cancellation: their jobs are given back anyway, and
    /// the handlers' returns no longer matter.
    mutating func handlersAbandoned(at now: ContinuousClock.Instant) -> [RuntimeAction] {
        var actions: [RuntimeAction] = []
        for (lease, handler) in handlers where !handler.settled {
            handlers[lease]?.settled = true
            guard let entry = held[lease], entry.phase == .running else { continue }
            if entry.isLost {
                release(lease)
            } else {
                held[lease]?.phase = .reported
                pending.append(OutcomeReport(job: entry.job, kind: .giveBack, duration: RetryStrategy.seconds(now - handler.started)))
                actions.append(.wakeFlusher)
            }
        }
        return actions
    }

    /// Shutdown is complete (or has given up waiting for the database): the loops end.
    mutating func stopped() -> [RuntimeAction] {
        mode = .stopped
        return [.wakeFlusher, .wakeFetcher]
    }

    /// The maintenance leader rescued this many jobs.
    mutating func rescued(_ count: Int) {
        statistics.rescued += count
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.3g", seconds)
    }
}

extension Job {
    /// A job as a claim returns it, built in memory (for the state machine's tests).
    init(id: Int64, leaseToken: UUID = UUID(), queue: String = "q", kind: String = "k",
         attempt: Int = 1, maxAttempts: Int = 3, timeLimit: Duration? = nil, wakeup: JobWakeup? = nil, now: Date = Date()) {
        self.id = id
        self.queue = queue
        self.kind = kind
        self.payload = "{}"
        self.priority = 0
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.leaseToken = leaseToken
        self.leaseExpiresAt = now.addingTimeInterval(30)
        self.runAt = now
        self.createdAt = now
        self.timeLimit = timeLimit
        self.waitSeconds = 0
        self.wakeup = wakeup
    }
}
