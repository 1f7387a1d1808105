import Foundation

/// A bounded set of ``PostgresConnection``s shared by many tasks.
///
/// At most `maximumConnections` sessions are open; a task that asks while all are busy
/// waits (in order of arrival) until one is returned, or fails after `checkoutTimeout`.
/// Connections are opened lazily and reconnect by themselves after a server restart.
public actor ConnectionPool {
    public nonisolated let configuration: PostgresConfiguration
    public nonisolated let maximumConnections: Int
    public nonisolated let checkoutTimeout: Duration

    private var idle: [PostgresConnection] = []
    private var openCount = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<PostgresConnection?, any Error>)] = []
    private var nextWaiterID: UInt64 = 0
    private var isClosed = false

    /// - Parameters:
    ///   - configuration: where to connect.
    ///   - maximumConnections: the most sessions open at once (at least 1).
    ///   - checkoutTimeout: how long a caller waits for a free connection.
    public init(configuration: PostgresConfiguration, maximumConnections: Int = 4, checkoutTimeout: Duration = .seconds(30)) {
        self.configuration = configuration
        self.maximumConnections = max(1, maximumConnections)
        self.checkoutTimeout = checkoutTimeout
    }

    /// Lends a connection to `body` and takes it back afterwards, whatever happens.
    /// A transaction left open by `body` is rolled back on return.
    @discardableResult
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await checkout()
        do {
            let value = try await body(connection)
            await checkin(connection)
            return value
        } catch {
            await checkin(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction on a pooled connection: commit on success,
    /// rollback on any thrown error.
    @discardableResult
    public func transaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.transaction { try await body($0) }
        }
    }

    /// Runs one statement on a pooled connection.
    @discardableResult
    public func query(_ sql: String, _ parameters: any PostgresEncodable...) async throws -> QueryResult {
        let parameters = parameters
        return try await withConnection { try await $0.query(sql, parameters: parameters) }
    }

    /// Closes idle connections now and the others as they come back; wakes waiters with an error.
    public func close() async {
        isClosed = true
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting {
            waiter.continuation.resume(throwing: PostgresError(code: .closed, message: "the connection pool was closed"))
        }
        for connection in idle { await connection.close() }
        idle.removeAll()
    }

    /// Connections currently open (idle and lent).
    public var openConnections: Int { openCount }

    func checkout() async throws -> PostgresConnection {
        guard !isClosed else { throw PostgresError(code: .closed, message: "the connection pool was closed") }
        if let connection = idle.popLast() { return connection }
        if openCount < maximumConnections {
            openCount += 1
            do {
                return try await PostgresConnection.connect(configuration)
            } catch {
                releaseSlot()
                throw error
            }
        }
        nextWaiterID += 1
        let id = nextWaiterID
        let timeout = checkoutTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.expireWaiter(id)
        }
        defer { timer.cancel() }
        let connection = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append((id, continuation))
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
        guard let connection else {
            // Handed a free slot instead of a connection: open one in it.
            do {
                return try await PostgresConnection.connect(configuration)
            } catch {
                releaseSlot()
                throw error
            }
        }
        return connection
    }

    func checkin(_ connection: PostgresConnection) async {
        await connection.resetSession()
        if isClosed {
            await connection.close()
            openCount -= 1
            return
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            waiter.continuation.resume(returning: connection)
            return
        }
        idle.append(connection)
    }

    private func releaseSlot() {
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: nil)
        } else {
            openCount -= 1
        }
    }

    private func expireWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiter.continuation.resume(throwing: PostgresError(
            code: .poolTimeout,
            message: "no database connection became free within \(checkoutTimeout); all \(maximumConnections) are busy"))
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }
}
