import Metrics

/// swift-metrics instruments of the queue (exported by whatever backend the process
/// bootstraps, e.g. swift-prometheus). Labels carry the queue name.
struct QueueMetrics: Sendable {
    func started(_ job: Job) {
        Counter(label: "queue_jobs_started_total", dimensions: [("queue", job.queue)]).increment()
        Timer(label: "queue_job_wait_seconds", dimensions: [("queue", job.queue)], preferredDisplayUnit: .seconds)
            .recordSeconds(max(0, job.waitSeconds))
    }

    func completed(_ job: Job, duration: Double) {
        Counter(label: "queue_jobs_completed_total", dimensions: [("queue", job.queue)]).increment()
        Timer(label: "queue_job_duration_seconds", dimensions: [("queue", job.queue)], preferredDisplayUnit: .seconds)
            .recordSeconds(duration)
    }

    func failed(_ job: Job, discarded: Bool) {
        Counter(label: discarded ? "queue_jobs_discarded_total" : "queue_jobs_failed_total", dimensions: [("queue", job.queue)]).increment()
    }

    func rescued(_ count: Int) {
        Counter(label: "queue_jobs_rescued_total").increment(by: count)
    }

    static func enqueued(queue: String, count: Int) {
        Counter(label: "queue_jobs_enqueued_total", dimensions: [("queue", queue)]).increment(by: count)
    }
}
