import ArgumentParser
import CaseLedger
import Logging
import CaseWorker
import Foundation
import PostgresClient
import QueueCore
import Schema
import Synchronization
import TaskForces

/// Benchmarks of the queue and the product, driven by `scripts/bench`. Every
/// subcommand prints one JSON line with its measurements.
@main
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-bench",
        abstract: "Benchmarks (see scripts/bench and docs/BENCHMARKS.md).",
        subcommands: [Prepare.self, EnqueueSingle.self, EnqueueBatch.self, EnqueueCopy.self, Process.self, Runner.self,
                      Latency.self, Classify.self, Sizes.self, PruneSoak.self, Fairness.self])
}

struct Connection: ParsableArguments {
    @Option(name: .customLong("database-url")) var databaseURL: String?
    var configuration: PostgresConfiguration {
        databaseURL.map { PostgresConfiguration(connectionString: $0, applicationName: "bench") } ?? .fromEnvironment(applicationName: "bench")
    }
}

/// Benchmarks log warnings only: the measurements go to stdout as JSON.
func quietLogging() {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
}

func emit(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let (s, atto) = (ContinuousClock.now - start).components
    return Double(s) + Double(atto) / 1e18
}

/// Empties the queue tables (between runs).
struct Prepare: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    func run() async throws {
        let db = try await PostgresConnection.connect(connection.configuration)
        try await Schema.runner().apply(on: db)
        try await db.executeScript("""
            TRUNCATE queue_jobs, queue_job_archive, queue_leader, resolutions, routing_corrections, workers;
            ALTER TABLE case_events DISABLE TRIGGER case_events_no_truncate;
            TRUNCATE case_events, cases CASCADE;
            ALTER TABLE case_events ENABLE TRIGGER case_events_no_truncate;
            """)
        // VACUUM cannot share a multi-statement string (an implicit transaction).
        try await db.executeScript("VACUUM ANALYZE queue_jobs")
        try await db.executeScript("VACUUM ANALYZE queue_job_archive")
        _ = try? await db.query("SELECT pg_stat_statements_reset()")
        await db.close()
        emit(["prepared": true])
    }
}

struct EnqueueSingle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enqueue-single")
    @OptionGroup var connection: Connection
    @Option var jobs = 5_000
    func run() async throws {
        let db = try await PostgresConnection.connect(connection.configuration)
        let start = ContinuousClock.now
        for n in 0..<jobs {
            try await JobQueue.enqueue(NewJob(queue: "bench", kind: "noop", payload: "{\"n\": \(n)}"), on: db)
        }
        let elapsed = seconds(since: start)
        await db.close()
        emit(["bench": "enqueue_single", "jobs": jobs, "seconds": elapsed, "jobs_per_second": Double(jobs) / elapsed])
    }
}

struct EnqueueBatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enqueue-batch")
    @OptionGroup var connection: Connection
    @Option var jobs = 100_000
    @Option var batch = 1_000
    func run() async throws {
        let db = try await PostgresConnection.connect(connection.configuration)
        let all = (0..<jobs).map { NewJob(queue: "bench", kind: "noop", payload: "{\"n\": \($0)}") }
        let start = ContinuousClock.now
        var index = 0
        while index < all.count {
            let end = min(index + batch, all.count)
            try await JobQueue.enqueue(Array(all[index..<end]), on: db)
            index = end
        }
        let elapsed = seconds(since: start)
        await db.close()
        emit(["bench": "enqueue_batch", "jobs": jobs, "batch": batch, "seconds": elapsed, "jobs_per_second": Double(jobs) / elapsed])
    }
}

struct EnqueueCopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enqueue-copy")
    @OptionGroup var connection: Connection
    @Option var jobs = 100_000
    @Option var queue = "bench"
    @Option var kind = "noop"
    func run() async throws {
        let db = try await PostgresConnection.connect(connection.configuration)
        let all = (0..<jobs).map { NewJob(queue: queue, kind: kind, payload: "{\"n\": \($0)}") }
        let start = ContinuousClock.now
        try await JobQueue.copy(all, on: db)
        let elapsed = seconds(since: start)
        await db.close()
        emit(["bench": "enqueue_copy", "jobs": jobs, "seconds": elapsed, "jobs_per_second": Double(jobs) / elapsed])
    }
}

/// Runs `processes` child processes of `runner` over `jobs` pre-loaded jobs; throughput
/// from the first claim to the last completion, as the database recorded them.
struct Process: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var jobs = 20_000
    @Option var processes = 1
    @Option var slots = 8
    @Option(help: "Jobs claimed ahead of free slots (default: one per slot).") var prefetch: Int?
    @Flag(help: "Use the worker's real path: case jobs whose handler's resolution is written by the ResolutionRecorder.") var resolution = false
    func run() async throws {
        let db = try await PostgresConnection.connect(connection.configuration)
        // Only this run's jobs count (the soak runs several rounds on one archive).
        let baseline = try await db.query("""
            SELECT greatest((SELECT coalesce(max(id), 0) FROM queue_jobs), (SELECT coalesce(max(id), 0) FROM queue_job_archive))
            """).firstRow().decode(0, as: Int64.self)
        if resolution {
            try await db.executeScript("""
                INSERT INTO cases (text, channel, language, task_force, routing_source, state, due_at, warn_at, original_due_at)
                SELECT 'bench case ' || n, 'hotline', 'zh-Hans', 'tax', 'automatic', 'open',
                       now() + interval '1 day', now() + interval '18 hours', now() + interval '1 day'
                FROM generate_series(1, \(jobs)) n;
                INSERT INTO queue_jobs (queue, kind, payload)
                SELECT 'tax', 'case', jsonb_build_object('case_id', id, 'level', 0) FROM cases WHERE state = 'open';
                UPDATE cases c SET current_job_id = j.id FROM queue_jobs j WHERE (j.payload->>'case_id')::bigint = c.id;
                ANALYZE cases; ANALYZE queue_jobs;
                """)
        } else {
            try await JobQueue.copy((0..<jobs).map { NewJob(queue: "bench", kind: "noop", payload: "{\"n\": \($0)}") }, on: db)
            try await db.executeScript("ANALYZE queue_jobs")
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var children: [Foundation.Process] = []
        for index in 0..<processes {
            let child = Foundation.Process()
            child.executableURL = executable
            var arguments = ["runner", "--slots", String(slots), "--expect", String(jobs), "--name", "bench-\(index)"]
            if resolution { arguments.append("--resolution") }
            if let url = connection.databaseURL { arguments += ["--database-url", url] }
            if let prefetch { arguments += ["--prefetch", String(prefetch)] }
            child.arguments = arguments
            try child.run()
            children.append(child)
        }
        for child in children { child.waitUntilExit() }
        let row = try await db.query("""
            SELECT count(*) AS done, extract(epoch FROM max(finished_at) - min(attempted_at)) AS seconds
            FROM queue_job_archive WHERE id > $1
            """, baseline).firstRow()
        let done: Int = try row.decode("done")
        let elapsed: Double = try row.decode("seconds")
        let resolutions = try await db.query("SELECT count(*) FROM resolutions").firstRow().decode(0, as: Int.self)
        await db.close()
        emit(["bench": resolution ? "process_resolution" : "process_noop", "jobs": jobs, "completed": done, "processes": processes,
              "slots": slots, "seconds": elapsed, "jobs_per_second": Double(done) / elapsed, "resolutions": resolutions])
    }
}

/// One worker process for `process`: runs the runtime until the queue holds no more
/// unfinished jobs, then drains.
struct Runner: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var slots = 8
    @Option var expect = 0
    @Option var name = "bench"
    @Option var prefetch: Int?
    @Flag var resolution = false
    func run() async throws {
        quietLogging()
        var configuration = JobRuntimeConfiguration(queues: [resolution ? "tax" : "bench"], slots: slots)
        configuration.workerName = "\(name)-\(getpid())"
        if let prefetch { configuration.prefetch = prefetch }
        // Maintenance on, as in production: one of the processes leads (rescue,
        // promotion, vacuuming the hot table).
        configuration.pollInterval = .milliseconds(200)
        let handlers: [String: JobHandler]
        var hooks = JobRuntimeHooks()
        if resolution {
            let result = Resolution(outcome: .resolved, summary: "bench", measures: [9], responsibleUnit: "unit", reply: "ok").json()
            handlers = [CaseJob.kind: { _ in .completed(result: result) }]
            let recorder = ResolutionRecorder(
                lifecycle: CaseLifecycle(policy: try TimeLimitPolicy.bundledDefault(), calendar: try WorkCalendar.bundledDefault()),
                worker: configuration.workerName, handlerName: "bench")
            hooks = recorder.hooks
        } else {
            handlers = ["noop": { _ in .completed }]
        }
        let runtime = JobRuntime(database: connection.configuration, configuration: configuration, handlers: handlers, hooks: hooks)
        let task = Task { try await runtime.run() }
        let db = try await PostgresConnection.connect(connection.configuration)
        // Cheap completion check through the partial indexes (a count would scan the
        // table and steal the database's CPU from the run being measured).
        let queue = resolution ? "tax" : "bench"
        while true {
            try await Task.sleep(for: .milliseconds(100))
            let busy = try await db.query("""
                SELECT EXISTS (SELECT 1 FROM queue_jobs WHERE queue = $1 AND state = 'available')
                    OR EXISTS (SELECT 1 FROM queue_jobs WHERE state = 'running')
                """, queue).firstRow().decode(0, as: Bool.self)
            if !busy { break }
        }
        runtime.stop()
        try await task.value
        await db.close()
    }
}

/// Pruning at full speed: jobs flow through two runtimes (one leads maintenance) while
/// the completed ones must leave the archive after `--retention` seconds. Samples the
/// archive's size every second; it must stay within throughput × (retention + prune
/// interval + 3 s) however fast the queue runs, and empty out once the run is over.
struct PruneSoak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune-soak")
    @OptionGroup var connection: Connection
    @Option var jobs = 300_000
    @Option var slots = 8
    @Option(help: "Seconds a completed job stays in the archive.") var retention = 10
    @Option(help: "Seconds between the leader's pruning passes.") var pruneInterval = 5
    func run() async throws {
        quietLogging()
        let db = try await PostgresConnection.connect(connection.configuration)
        try await db.executeScript("TRUNCATE queue_jobs, queue_job_archive")
        try await JobQueue.copy((0..<jobs).map { NewJob(queue: "bench", kind: "noop", payload: "{\"n\": \($0)}") }, on: db)
        try await db.executeScript("ANALYZE queue_jobs")
        let runtimes = (0..<2).map { index -> JobRuntime in
            var configuration = JobRuntimeConfiguration(queues: ["bench"], slots: slots)
            configuration.workerName = "prune-soak-\(index)-\(getpid())"
            configuration.pollInterval = .milliseconds(200)
            configuration.maintenance.completedRetention = .seconds(retention)
            configuration.maintenance.pruneInterval = .seconds(pruneInterval)
            return JobRuntime(database: connection.configuration, configuration: configuration, handlers: ["noop": { _ in .completed }])
        }
        let tasks = runtimes.map { runtime in Task { try await runtime.run() } }
        let started = ContinuousClock.now
        var samples: [(seconds: Double, archived: Int, completed: Int)] = []
        var finishedAt: Double?
        while true {
            try await Task.sleep(for: .seconds(1))
            let archived = try await db.query("SELECT count(*) FROM queue_job_archive").firstRow().decode(0, as: Int.self)
            let completed = runtimes.map(\.statistics.completed).reduce(0, +)
            let now = seconds(since: started)
            samples.append((now, archived, completed))
            if completed >= jobs, finishedAt == nil { finishedAt = now }
            // Run on past the end for two retentions plus two passes: the archive must empty.
            if let finishedAt, now > finishedAt + Double(2 * retention + 2 * pruneInterval) { break }
        }
        runtimes.forEach { $0.stop() }
        for task in tasks { try await task.value }
        await db.close()
        let end = finishedAt ?? samples.last!.seconds
        let rate = Double(jobs) / end
        let peak = samples.map(\.archived).max() ?? 0
        // Completed jobs younger than the retention, plus what gathers between passes and
        // during one (a pass works up to 2 s, and the leader returns a second later while
        // behind).
        let bound = rate * Double(retention + pruneInterval + 3)
        emit(["bench": "prune_soak", "jobs": jobs, "seconds": end, "jobs_per_second": rate, "retention_s": retention,
              "prune_interval_s": pruneInterval, "archive_peak": peak, "archive_bound": Int(bound),
              "archive_at_end": samples.last!.archived, "bounded": Double(peak) <= bound && samples.last!.archived == 0,
              "samples": samples.map { ["t": ($0.seconds * 10).rounded() / 10, "archived": $0.archived, "completed": $0.completed] }])
    }
}

/// Pickup latency: enqueue-commit to handler-start, for single jobs spaced apart,
/// with idle workers (in this process, on their own connections).
struct Latency: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var jobs = 500
    @Option(help: "Milliseconds between enqueues.") var spacing = 10
    @Flag var pollOnly = false
    @Option(help: "Poll interval (ms) in poll-only mode.") var poll = 50
    func run() async throws {
        quietLogging()
        let started = Mutex<[Int: ContinuousClock.Instant]>([:])
        var configuration = JobRuntimeConfiguration(queues: ["latency"], slots: 8)
        configuration.pollOnly = pollOnly
        configuration.pollInterval = pollOnly ? .milliseconds(poll) : .seconds(5)
        configuration.maintenance.enabled = false
        let runtime = JobRuntime(database: connection.configuration, configuration: configuration, handlers: [
            "ping": { job in
                let now = ContinuousClock.now
                let n = Int(job.payload.filter(\.isNumber))!
                started.withLock { $0[n] = now }
                return .completed
            },
        ])
        let task = Task { try await runtime.run() }
        let db = try await PostgresConnection.connect(connection.configuration)
        try await Task.sleep(for: .seconds(1))
        var committed: [Int: ContinuousClock.Instant] = [:]
        for n in 0..<jobs {
            try await JobQueue.enqueue(NewJob(queue: "latency", kind: "ping", payload: "{\"n\": \(n)}"), on: db)
            committed[n] = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(spacing))
        }
        try await Task.sleep(for: .seconds(1))
        runtime.stop()
        try await task.value
        await db.close()
        let seen = started.withLock { $0 }
        var latencies: [Double] = []
        for (n, commit) in committed { if let start = seen[n] { latencies.append(max(0, Double((start - commit).components.attoseconds) / 1e15 + Double((start - commit).components.seconds) * 1000)) } }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        emit(["bench": pollOnly ? "latency_poll" : "latency_notify", "jobs": jobs, "picked_up": latencies.count,
              "p50_ms": percentile(0.5), "p90_ms": percentile(0.9), "p99_ms": percentile(0.99), "max_ms": latencies.last ?? 0,
              "poll_ms": pollOnly ? poll : 0])
    }
}

/// The classifier alone: texts per second, on one thread, or with `--threads N` on N
/// threads (each with its own normaliser and classifier; threads of their own, not the
/// cooperative pool), as `dispatcher import` classifies a batch.
struct Classify: AsyncParsableCommand {
    @Option var file: String
    @Option var threads = 1
    func run() async throws {
        let model = try RoutingModel.bundled()
        let classifiers = try (0..<max(1, threads)).map { _ in RoutingClassifier(model: model, normalizer: try TextNormalizer()) }
        var texts: [String] = []
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let text = object["text"] as? String { texts.append(text) }
        }
        // Warm up (the byte tables are built on first use), then measure.
        for classifier in classifiers { _ = try? classifier.classify(texts.first ?? "x") }
        let all = texts
        let (routed, elapsed) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int, Double), Never>) in
            Thread {
                let counts = Mutex(0)
                let start = ContinuousClock.now
                DispatchQueue.concurrentPerform(iterations: classifiers.count) { thread in
                    var mine = 0
                    for index in stride(from: thread, to: all.count, by: classifiers.count) where (try? classifiers[thread].classify(all[index], cohandling: false)) != nil { mine += 1 }
                    counts.withLock { $0 += mine }
                }
                continuation.resume(returning: (counts.withLock { $0 }, seconds(since: start)))
            }.start()
        }
        emit(["bench": "classify", "texts": routed, "threads": classifiers.count, "seconds": elapsed, "texts_per_second": Double(routed) / elapsed])
    }
}

/// Table and index sizes of the queue.
struct Sizes: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var label = ""
    func run() async throws {
        let db = try await PostgresConnection.connect(connection.configuration)
        let row = try await db.query("""
            SELECT pg_relation_size('queue_jobs') AS jobs_heap, pg_indexes_size('queue_jobs') AS jobs_indexes,
                   pg_relation_size('queue_job_archive') AS archive_heap, pg_indexes_size('queue_job_archive') AS archive_indexes,
                   (SELECT count(*) FROM queue_jobs) AS jobs_rows, (SELECT count(*) FROM queue_job_archive) AS archive_rows
            """).firstRow()
        await db.close()
        emit(["bench": "sizes", "label": label, "jobs_heap": try row.decode("jobs_heap", as: Int.self),
              "jobs_indexes": try row.decode("jobs_indexes", as: Int.self), "archive_heap": try row.decode("archive_heap", as: Int.self),
              "archive_indexes": try row.decode("archive_indexes", as: Int.self), "jobs_rows": try row.decode("jobs_rows", as: Int.self),
              "archive_rows": try row.decode("archive_rows", as: Int.self)])
    }
}

/// Per-key fairness: a flood of `--flood` jobs from one key, then `--late` jobs of another;
/// claims (in batches of `--batch`, each completed at once) until every late job ran, with
/// fairness keys and without (the same jobs, no keys). Then the cost of keys: enqueue
/// (batches of 1,000) and claim-and-complete throughput of `--jobs` keyed jobs (`--keys`
/// keys, round robin) against as many plain ones.
struct Fairness: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var flood = 10_000
    @Option var late = 100
    @Option var batch = 10
    @Option var jobs = 50_000
    @Option var keys = 100

    func run() async throws {
        let db = try await PostgresConnection.connect(connection.configuration)
        defer { Task { await db.close() } }
        var result: [String: Any] = ["bench": "fairness", "flood": flood, "late": late, "batch": batch]
        for keyed in [true, false] {
            try await db.executeScript("TRUNCATE queue_jobs, queue_job_archive")
            try await JobQueue.enqueue((0..<flood).map { _ in NewJob(queue: "fair", kind: "noop", concurrencyKey: keyed ? "flood" : nil) }, on: db)
            let lateIDs = try await JobQueue.enqueue(
                (0..<late).map { _ in NewJob(queue: "fair", kind: "noop", concurrencyKey: keyed ? "late" : nil) }, on: db).map(\.id)
            var left = Set(lateIDs)
            var claims = 0
            while !left.isEmpty {
                let claimed = try await JobQueue.claim(queues: ["fair"], limit: batch, lease: .seconds(60), worker: "bench", on: db)
                guard !claimed.isEmpty else { break }
                claims += claimed.count
                left.subtract(claimed.map(\.id))
                try await JobQueue.complete(claimed.map(\.lease), on: db)
            }
            result[keyed ? "claims_until_late_done_fair" : "claims_until_late_done_plain"] = claims
        }
        for keyed in [false, true] {
            try await db.executeScript("TRUNCATE queue_jobs, queue_job_archive")
            try await db.executeScript("VACUUM ANALYZE queue_jobs")
            let all = (0..<jobs).map { NewJob(queue: "fair", kind: "noop", concurrencyKey: keyed ? "key-\($0 % keys)" : nil) }
            var start = ContinuousClock.now
            var index = 0
            while index < all.count {
                let end = min(index + 1_000, all.count)
                try await JobQueue.enqueue(Array(all[index..<end]), on: db)
                index = end
            }
            let enqueueRate = Double(jobs) / seconds(since: start)
            try await db.executeScript("ANALYZE queue_jobs")
            start = ContinuousClock.now
            var done = 0
            while true {
                let claimed = try await JobQueue.claim(queues: ["fair"], limit: 50, lease: .seconds(60), worker: "bench", on: db)
                if claimed.isEmpty { break }
                try await JobQueue.complete(claimed.map(\.lease), on: db)
                done += claimed.count
            }
            let claimRate = Double(done) / seconds(since: start)
            let label = keyed ? "keyed" : "plain"
            result["enqueue_\(label)_jobs_per_second"] = enqueueRate
            result["claim_complete_\(label)_jobs_per_second"] = claimRate
        }
        result["jobs"] = jobs
        result["keys"] = keys
        emit(result)
    }
}
