import Foundation
import Synchronization

/// Why the runtime cancelled a handler.
enum CancelReason: Sendable {
    /// Shutdown grace period over: give the job back without burning the attempt.
    case shutdown
    /// The heartbeat found the lease gone (rescued or cancelled by an operator).
    case leaseLost
    /// Self-fencing: the lease could not be renewed and is about to lapse (the database
    /// is unreachable, the process was frozen); the job will be rescued and run
    /// elsewhere, so this attempt must stop first.
    case fenced

    /// The job is no longer ours: its outcome is dropped, never committed.
    var dropsOutcome: Bool { self != .shutdown }
}

/// The jobs a runtime holds: claimed and not yet acknowledged by the database.
///
/// A job stays here from its claim until the transaction recording its outcome
/// commits, so heartbeats keep its lease alive meanwhile. Separately, `busySlots`
/// counts handlers still executing — a timed-out handler that ignores cancellation
/// keeps its slot even after its failure was recorded.
final class HeldJobs: Sendable {
    struct Entry {
        var job: Job
        /// Until when the lease is known to hold, by this process's clock: measured from
        /// before the statement that claimed or last extended it, so never later than
        /// the database's own expiry.
        var leaseUntil: ContinuousClock.Instant
        var task: Task<Void, Never>?
        var cancelReason: CancelReason?
        var outcomeReported = false
    }

    private struct State {
        var entries: [Int64: Entry] = [:]
        var busySlots = 0
        /// Claimed jobs waiting for a free slot (prefetched), oldest first.
        var waiting: [Int64] = []
        var startsStopped = false
    }

    private let state = Mutex(State())
    private let slots: Int

    init(slots: Int) { self.slots = slots }

    var busySlots: Int { state.withLock { $0.busySlots } }
    var count: Int { state.withLock { $0.entries.count } }
    var waitingCount: Int { state.withLock { $0.waiting.count } }
    /// Jobs running or waiting for a slot (not those only waiting for their outcome's commit).
    var activeCount: Int { state.withLock { $0.busySlots + $0.waiting.count } }

    /// Takes a claimed job: `true` when a slot is free and it should start now; `false`
    /// when it waits (prefetched) for a slot.
    func add(_ job: Job, leaseUntil: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            state.entries[job.id] = Entry(job: job, leaseUntil: leaseUntil)
            if state.busySlots < slots, !state.startsStopped {
                state.busySlots += 1
                return true
            }
            state.waiting.append(job.id)
            return false
        }
    }

    /// A handler returned: hands its slot to the next waiting job (returned, to be
    /// started), or frees it. Waiting jobs whose lease was lost are dropped.
    func slotFreed() -> Job? {
        state.withLock { state in
            while !state.startsStopped, !state.waiting.isEmpty {
                let id = state.waiting.removeFirst()
                guard let entry = state.entries[id] else { continue }
                if entry.cancelReason?.dropsOutcome == true {
                    state.entries[id] = nil
                    continue
                }
                return entry.job
            }
            state.busySlots -= 1
            return nil
        }
    }

    /// No waiting job starts after this (shutdown); they are given back instead.
    func stopStarting() { state.withLock { $0.startsStopped = true } }

    func attach(_ task: Task<Void, Never>, to id: Int64) {
        let cancelNow = state.withLock { state -> Bool in
            state.entries[id]?.task = task
            return state.entries[id]?.cancelReason != nil
        }
        if cancelNow { task.cancel() }
    }

    func cancelReason(of id: Int64) -> CancelReason? { state.withLock { $0.entries[id]?.cancelReason } }

    func markReported(_ id: Int64) { state.withLock { $0.entries[id]?.outcomeReported = true } }

    /// Removes jobs whose outcome is committed (or whose lease is gone).
    func release(_ ids: some Sequence<Int64>) {
        state.withLock { state in for id in ids { state.entries[id] = nil } }
    }

    /// Leases to extend: every held job.
    func leases() -> [JobLease] { state.withLock { $0.entries.values.map(\.job.lease) } }

    /// Records that the leases of `ids` were extended to at least `until`.
    func renewed(_ ids: some Sequence<Int64>, until: ContinuousClock.Instant) {
        state.withLock { state in
            for id in ids where state.entries[id] != nil {
                state.entries[id]!.leaseUntil = max(state.entries[id]!.leaseUntil, until)
            }
        }
    }

    /// The earliest lease end among held jobs whose handler may still run (not
    /// reported, not cancelled for good): the moment their handlers must be gone.
    func earliestLeaseEnd() -> ContinuousClock.Instant? {
        state.withLock { state in
            state.entries.values.lazy
                .filter { !$0.outcomeReported && $0.cancelReason?.dropsOutcome != true }
                .map(\.leaseUntil).min()
        }
    }

    /// Jobs whose lease ends before `horizon` and whose handler has not reported:
    /// their handlers must stop now (self-fencing). Cancels them like ``cancel(_:reason:)``.
    /// - Returns: the ids fenced by this call.
    func fence(before horizon: ContinuousClock.Instant) -> [Int64] {
        let ids = state.withLock { state in
            state.entries.values
                .filter { !$0.outcomeReported && $0.cancelReason == nil && $0.leaseUntil <= horizon }
                .map(\.job.id)
        }
        return ids.isEmpty ? [] : cancel(ids, reason: .fenced)
    }

    /// The lease token of a held job.
    func token(of id: Int64) -> UUID? { state.withLock { $0.entries[id]?.job.lease.token } }

    /// Cancels the handlers of `ids` for `reason` (only those still executing; a job
    /// whose outcome is already reported or committed is left alone).
    /// - Returns: the ids whose handlers were cancelled.
    @discardableResult
    func cancel(_ ids: some Sequence<Int64>, reason: CancelReason) -> [Int64] {
        let (tasks, cancelled) = state.withLock { state -> ([Task<Void, Never>], [Int64]) in
            var tasks: [Task<Void, Never>] = []
            var cancelled: [Int64] = []
            for id in ids {
                guard var entry = state.entries[id], !entry.outcomeReported else { continue }
                if entry.cancelReason == nil { entry.cancelReason = reason }
                state.entries[id] = entry
                cancelled.append(id)
                if let task = entry.task { tasks.append(task) }
            }
            return (tasks, cancelled)
        }
        tasks.forEach { $0.cancel() }
        return cancelled
    }

    /// Ids of jobs whose handler has not reported an outcome.
    func unreported() -> [Int64] {
        state.withLock { $0.entries.values.filter { !$0.outcomeReported }.map(\.job.id) }
    }

    /// Jobs not yet reported, for giving them back at the end of a shutdown.
    func takeUnreported() -> [Job] {
        state.withLock { state in
            let jobs = state.entries.values.filter { !$0.outcomeReported }.map(\.job)
            for job in jobs { state.entries[job.id]?.outcomeReported = true }
            return jobs
        }
    }
}
