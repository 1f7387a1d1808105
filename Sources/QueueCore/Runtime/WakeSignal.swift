import Synchronization

/// A level-triggered wake-up for one waiting task, with a timeout.
///
/// Any number of `signal()` calls while nobody waits fold into one pending wake-up:
/// this is what debounces a burst of NOTIFYs into a single claim.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var timer: Task<Void, Never>?
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Wakes the waiter, or the next `wait` if nobody waits now.
    func signal() {
        let (waiter, timer) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            guard let waiter = state.waiter else {
                state.pending = true
                return (nil, nil)
            }
            state.waiter = nil
            defer { state.timer = nil }
            return (waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume()
    }

    /// Returns when signalled, when `timeout` passes, or when the task is cancelled.
    func wait(timeout: Duration?) async {
        let ready = state.withLock { state -> Bool in
            if state.pending { state.pending = false; return true }
            return false
        }
        if ready || Task.isCancelled { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending { state.pending = false; return true }
                    state.generation &+= 1
                    state.waiter = continuation
                    if let timeout {
                        let generation = state.generation
                        state.timer = Task { [weak self] in
                            try? await Task.sleep(for: timeout)
                            if !Task.isCancelled { self?.expire(generation) }
                        }
                    }
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.signal()
        }
    }

    private func expire(_ generation: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation, let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.timer = nil
            return waiter
        }
        waiter?.resume()
    }
}
