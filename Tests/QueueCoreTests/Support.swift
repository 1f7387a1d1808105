import Foundation
import PostgresClient
import PostgresTestSupport
import QueueCore
import Synchronization
import Testing

/// A fresh migrated database with one open connection, for one test.
struct QueueFixture {
    let database: PostgresConfiguration
    let connection: PostgresConnection

    static func make(_ label: String) async throws -> QueueFixture {
        let database = try await TestDatabase.create(label)
        return QueueFixture(database: database, connection: try await PostgresConnection.connect(database))
    }

    func count(_ sql: String, _ parameters: any PostgresEncodable...) async throws -> Int {
        try await connection.query(sql, parameters: parameters).first!.decode(0, as: Int.self)
    }

    func close() async { await connection.close() }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
/// An error thrown by `condition` counts as "not yet" (e.g. while the server restarts).
func eventually(timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool) async -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: interval)
    }
    return (try? await condition()) == true
}

/// Fast timings so runtime tests take fractions of a second.
func testConfiguration(queues: [String], slots: Int = 4) -> JobRuntimeConfiguration {
    var configuration = JobRuntimeConfiguration(queues: queues, slots: slots)
    configuration.pollInterval = .milliseconds(100)
    configuration.lease = .seconds(2)
    configuration.heartbeatInterval = .milliseconds(200)
    configuration.retryStrategy = .constant(.milliseconds(10))
    configuration.shutdownGracePeriod = .seconds(5)
    configuration.maintenance.interval = .milliseconds(100)
    configuration.maintenance.leaderTTL = .seconds(2)
    return configuration
}

/// Starts a runtime in the background; `stop()` waits for it to finish.
struct RunningRuntime {
    let runtime: JobRuntime
    let task: Task<Void, any Error>

    static func start(_ runtime: JobRuntime) -> RunningRuntime {
        RunningRuntime(runtime: runtime, task: Task { try await runtime.run() })
    }

    func stop() async throws {
        runtime.stop()
        try await task.value
    }
}

/// A thread-safe list for recording what handlers saw.
final class Recorder<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ element: Element) { storage.withLock { $0.append(element) } }
    var all: [Element] { storage.withLock { $0 } }
    var count: Int { storage.withLock { $0.count } }
}
