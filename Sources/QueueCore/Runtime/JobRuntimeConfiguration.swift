import Foundation
import PostgresClient

/// Settings of a ``JobRuntime``; every one has a sensible default.
public struct JobRuntimeConfiguration: Sendable {
    /// Queues to claim from.
    public var queues: [String]
    /// Jobs run at once (slots).
    public var slots: Int
    /// Most jobs claimed by one statement.
    public var fetchLimit: Int
    /// Most jobs claimed ahead of free slots (held under lease, started as slots free
    /// up). The runtime prefetches only about `prefetchWindow` of work, judged by the
    /// recent handler durations: many quick jobs, few slow ones.
    public var prefetch: Int
    /// How much work (in handler time per slot) to claim ahead.
    public var prefetchWindow: Duration
    /// Shown in `locked_by` and logs; unique per process.
    public var workerName: String
    /// How often to look for jobs when no NOTIFY arrives.
    public var pollInterval: Duration
    /// Never LISTEN; find work by polling only (for connection poolers in transaction mode).
    public var pollOnly: Bool
    /// How long a claim holds without heartbeats (crash detection).
    public var lease: Duration
    /// How often running jobs' leases are extended.
    public var heartbeatInterval: Duration
    /// How long before an unrenewed lease lapses its handler is cancelled (self-fencing):
    /// enough for an exec handler's process group to get SIGTERM and, two seconds later,
    /// SIGKILL. `nil`: a fifth of the lease, at least 3 s, at most a quarter of the lease
    /// (short leases, as in tests, then fence later than a kill takes: give them a margin).
    public var selfFenceMargin: Duration?
    /// Called with the moment by which every handler of this runtime must be gone unless
    /// their leases are renewed (the earliest held lease's end less the fencing margin;
    /// nil when nothing is held), each time it changes. Exec handlers' watchdogs read it
    /// so that they stop on time even when this process is frozen (SIGSTOP) or starved.
    public var onLeaseHorizon: (@Sendable (Date?) -> Void)?
    /// Execution time limit of an attempt when neither the job nor its queue sets one.
    public var defaultTimeLimit: Duration
    /// Time limit per queue.
    public var timeLimits: [String: Duration]
    /// Backoff for kinds without their own.
    public var retryStrategy: RetryStrategy
    /// Backoff per job kind.
    public var retryStrategies: [String: RetryStrategy]
    /// On shutdown, how long running jobs may finish before they are cancelled and given back.
    public var shutdownGracePeriod: Duration
    /// Database sessions for claims, completions and heartbeats (plus one for LISTEN).
    public var connections: Int
    /// Most outcomes committed by one completion transaction.
    public var completionBatchLimit: Int
    /// Maintenance leadership and its periodic work.
    public var maintenance: MaintenanceConfiguration

    /// - Parameters:
    ///   - queues: queues to claim from.
    ///   - slots: concurrent jobs.
    public init(queues: [String], slots: Int = 8) {
        self.queues = queues
        self.slots = max(1, slots)
        self.fetchLimit = 100
        self.prefetch = 128
        self.prefetchWindow = .milliseconds(50)
        let host = ProcessInfo.processInfo.hostName
        self.workerName = "\(host):\(getpid()):\(UInt16.random(in: 0...UInt16.max))"
        self.pollInterval = .seconds(1)
        self.pollOnly = false
        self.lease = .seconds(30)
        self.heartbeatInterval = .seconds(10)
        self.defaultTimeLimit = .seconds(300)
        self.timeLimits = [:]
        self.retryStrategy = .default
        self.retryStrategies = [:]
        self.shutdownGracePeriod = .seconds(30)
        self.connections = 3
        self.completionBatchLimit = 1_000
        self.maintenance = MaintenanceConfiguration()
    }

    /// `database` with its statements bounded by the lease plus five seconds: a statement
    /// that outlasts the lease cannot keep it anyway, so the session is dropped and the
    /// work retried on a fresh one (a partition otherwise waits out TCP's minutes).
    public func boundingStatements(of database: PostgresConfiguration) -> PostgresConfiguration {
        var database = database
        let deadline = lease + .seconds(5)
        database.statementDeadline = min(database.statementDeadline ?? deadline, deadline)
        return database
    }

    var effectiveSelfFenceMargin: Duration {
        if let selfFenceMargin { return selfFenceMargin }
        return min(max(lease / 5, .seconds(3)), lease / 4)
    }

    func timeLimit(for job: Job) -> Duration {
        job.timeLimit ?? timeLimits[job.queue] ?? defaultTimeLimit
    }

    func retryStrategy(for kind: String) -> RetryStrategy {
        retryStrategies[kind] ?? retryStrategy
    }
}

/// What the elected maintenance leader does, and how often.
public struct MaintenanceConfiguration: Sendable {
    /// Whether this process stands for leadership at all.
    public var enabled = true
    /// How often the leader rescues expired leases and promotes due jobs.
    public var interval: Duration = .seconds(1)
    /// How long a leadership lasts without renewal.
    public var leaderTTL: Duration = .seconds(10)
    /// How often the leader prunes.
    public var pruneInterval: Duration = .seconds(60)
    /// Completed jobs stay in the archive this long.
    public var completedRetention: Duration = .seconds(24 * 3600)
    /// Discarded and cancelled jobs stay this long.
    public var finishedRetention: Duration = .seconds(7 * 24 * 3600)
    /// The leader vacuums the hot table once this many dead rows have gathered (0: never;
    /// leave it to autovacuum).
    public var vacuumDeadTuples = 50_000
    /// Whether the leader enqueues the periodic jobs of `queue_periodic` (once per period,
    /// whichever process leads; ``JobQueue/schedulePeriodic(_:on:)``).
    public var periodic = true
    /// Schedules the leader registers (upserts) each time it is elected, beside those
    /// already in the registry.
    public var periodicJobs: [PeriodicJob] = []
    /// Extra work for the leader each interval (e.g. enforcing case deadlines), run on
    /// a pooled connection after the queue's own maintenance.
    public var extraTasks: [@Sendable (PostgresConnection) async throws -> Void] = []

    public init() {}
}
