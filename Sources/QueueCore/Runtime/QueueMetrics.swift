import Metrics
import Synchronization

/// swift-metrics instruments of the queue (exported by whatever backend the process
/// bootstraps, e.g. swift-prometheus). Labels carry the queue name. Instruments are
/// created once per queue and kept: creating them goes through the factory's lock.
final class QueueMetrics: Sendable {
    private struct Instruments: @unchecked Sendable {
        let started: Counter
        let completed: Counter
        let failed: Counter
        let discarded: Counter
        let duration: Timer
        let wait: Timer
    }

    private let cache = Mutex<[String: Instruments]>([:])

    private func instruments(_ queue: String) -> Instruments {
        cache.withLock { cache in
            if let found = cache[queue] { return found }
            let dimensions = [("queue", queue)]
            let made = Instruments(
                started: Counter(label: "queue_jobs_started_total", dimensions: dimensions),
                completed: Counter(label: "queue_jobs_completed_total", dimensions: dimensions),
                failed: Counter(label: "queue_jobs_failed_total", dimensions: dimensions),
                discarded: Counter(label: "queue_jobs_discarded_total", dimensions: dimensions),
                duration: Timer(label: "queue_job_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds),
                wait: Timer(label: "queue_job_wait_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds))
            cache[queue] = made
            return made
        }
    }

    func started(_ job: Job) {
        let instruments = instruments(job.queue)
        instruments.started.increment()
        instruments.wait.recordSeconds(max(0, job.waitSeconds))
    }

    func completed(_ job: Job, duration: Double) {
        let instruments = instruments(job.queue)
        instruments.completed.increment()
        instruments.duration.recordSeconds(duration)
    }

    func failed(_ job: Job, discarded: Bool) {
        let instruments = instruments(job.queue)
        (discarded ? instruments.discarded : instruments.failed).increment()
    }

    func rescued(_ count: Int) {
        Counter(label: "queue_jobs_rescued_total").increment(by: count)
    }

    static func enqueued(queue: String, count: Int) {
        Counter(label: "queue_jobs_enqueued_total", dimensions: [("queue", queue)]).increment(by: count)
    }
}
