import Foundation
import PostgresClient
import PostgresTestSupport
import Synchronization
import Testing

final class Occupancy: Sendable {
    private let state = Mutex((now: 0, peak: 0))
    func enter() { state.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
}

@Suite("Connection pool")
struct PoolTests {
    @Test("never opens more than its maximum, and waiters all get served")
    func boundedAndFair() async throws {
        let pool = ConnectionPool(configuration: TestDatabase.server, maximumConnections: 3)
        let inUse = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await pool.withConnection { connection in
                        inUse.enter()
                        try await connection.query("SELECT pg_sleep(0.01)")
                        inUse.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(inUse.peak <= 3)
        #expect(await pool.openConnections <= 3)
        await pool.close()
    }

    @Test("a caller that waits too long for a busy pool gets a clear timeout")
    func checkoutTimeout() async throws {
        let pool = ConnectionPool(configuration: TestDatabase.server, maximumConnections: 1, checkoutTimeout: .milliseconds(200))
        let holder = Task {
            try await pool.withConnection { try await $0.query("SELECT pg_sleep(1.5)") }
        }
        try await Task.sleep(for: .milliseconds(300))
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { try await $0.query("SELECT 1") }
        }
        #expect(error?.code == .poolTimeout)
        _ = try await holder.value
        await pool.close()
    }

    @Test("a transaction left open by a borrower is rolled back on return")
    func openTransactionRolledBack() async throws {
        let pool = ConnectionPool(configuration: TestDatabase.server, maximumConnections: 1)
        try await pool.withConnection { try await $0.query("BEGIN") }
        let status = try await pool.withConnection { await $0.isIdleOutsideTransaction }
        #expect(status)
        await pool.close()
    }
}
