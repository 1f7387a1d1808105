import Foundation
import Synchronization

/// A serial executor that runs its jobs on one dedicated OS thread.
///
/// libpq calls block. An actor whose `unownedExecutor` is a `ThreadExecutor` can call
/// libpq directly without ever blocking Swift's cooperative thread pool: the blocking
/// happens on this thread, and the awaiting task is suspended meanwhile.
final class ThreadExecutor: SerialExecutor {
    private struct State {
        var jobs: [UnownedJob] = []
        var head = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Starts the thread. It lives until `stop()` is called and its queue is empty.
    init(name: String) {
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let accepted = state.withLock { state -> Bool in
            if state.stopped { return false }
            state.jobs.append(job)
            return true
        }
        if accepted {
            wakeUp.signal()
        } else {
            // The thread has gone: run late jobs (e.g. calls after close) on a short-lived
            // thread so that they still complete instead of hanging forever.
            let executor = asUnownedSerialExecutor()
            Thread { job.runSynchronously(on: executor) }.start()
        }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish once the jobs already queued have run.
    func stop() {
        state.withLock { $0.stopped = true }
        wakeUp.signal()
    }

    private func run() {
        let executor = asUnownedSerialExecutor()
        while true {
            wakeUp.wait()
            let next = state.withLock { state -> (job: UnownedJob?, exit: Bool) in
                if state.head < state.jobs.count {
                    let job = state.jobs[state.head]
                    state.head += 1
                    if state.head > 64, state.head * 2 > state.jobs.count {
                        state.jobs.removeFirst(state.head)
                        state.head = 0
                    }
                    return (job, false)
                }
                return (nil, state.stopped)
            }
            if let job = next.job {
                job.runSynchronously(on: executor)
            } else if next.exit {
                return
            }
        }
    }
}
