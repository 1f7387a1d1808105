import Foundation
import Synchronization

/// Why the runtime cancelled a handler.
enum CancelReason: Sendable {
    /// Shutdown grace period over: give the job back without burning the attempt.
    case shutdown
    /// The heartbeat found the lease gone (rescued or cancelled by an operator).
    case leaseLost
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
        var task: Task<Void, Never>?
        var cancelReason: CancelReason?
        var outcomeReported = false
    }

    private struct State {
        var entries: [Int64: Entry] = [:]
        var busySlots = 0
    }

    private let state = Mutex(State())

    var busySlots: Int { state.withLock { $0.busySlots } }
    var count: Int { state.withLock { $0.entries.count } }

    func add(_ job: Job) {
        state.withLock {
            $0.entries[job.id] = Entry(job: job)
            $0.busySlots += 1
        }
    }

    func attach(_ task: Task<Void, Never>, to id: Int64) {
        let cancelNow = state.withLock { state -> Bool in
            state.entries[id]?.task = task
            return state.entries[id]?.cancelReason != nil
        }
        if cancelNow { task.cancel() }
    }

    func slotFreed() { state.withLock { $0.busySlots -= 1 } }

    func cancelReason(of id: Int64) -> CancelReason? { state.withLock { $0.entries[id]?.cancelReason } }

    func markReported(_ id: Int64) { state.withLock { $0.entries[id]?.outcomeReported = true } }

    /// Removes jobs whose outcome is committed (or whose lease is gone).
    func release(_ ids: some Sequence<Int64>) {
        state.withLock { state in for id in ids { state.entries[id] = nil } }
    }

    /// Leases to extend: every held job.
    func leases() -> [JobLease] { state.withLock { $0.entries.values.map(\.job.lease) } }

    /// Cancels the handlers of `ids` for `reason` (only those still executing).
    func cancel(_ ids: some Sequence<Int64>, reason: CancelReason) {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            var tasks: [Task<Void, Never>] = []
            for id in ids {
                guard var entry = state.entries[id], !entry.outcomeReported else { continue }
                if entry.cancelReason == nil { entry.cancelReason = reason }
                state.entries[id] = entry
                if let task = entry.task { tasks.append(task) }
            }
            return tasks
        }
        tasks.forEach { $0.cancel() }
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
