import CLibPQ
import Foundation

/// One PostgreSQL session, driven through libpq on a thread of its own.
///
/// Every method runs on the connection's dedicated thread (the actor's executor), so
/// libpq's blocking calls never occupy Swift's cooperative thread pool. Statements use
/// bound parameters only. When the server restarts or the backend is terminated, the
/// next statement outside a transaction reconnects transparently; a statement that was
/// in flight when the connection broke fails with ``PostgresError/Code/connectionLost``
/// and is never re-sent (it may have committed).
public actor PostgresConnection {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// What this connection was opened with (contains the password: never print it; use `redacted`).
    public nonisolated let configuration: PostgresConfiguration

    var handle: ConnectionHandle?
    private var listeningChannels: Set<String> = []
    /// True between `BEGIN` and `COMMIT`/`ROLLBACK` issued by ``transaction(isolation:_:)``.
    private var transactionOpen = false
    private var isClosed = false
    private let wakePipe: WakePipe
    /// How many times this connection reconnected after losing its session.
    public private(set) var reconnectCount = 0

    private init(configuration: PostgresConfiguration) {
        self.configuration = configuration
        self.executor = ThreadExecutor(name: "postgres-\(configuration.applicationName)")
        self.wakePipe = WakePipe()
    }

    /// Opens a connection.
    ///
    /// - Parameter configuration: where to connect; see ``PostgresConfiguration``.
    /// - Throws: ``PostgresError/Code/connectionFailed`` naming host, port, database and
    ///   user (never the password) and libpq's reason.
    public static func connect(_ configuration: PostgresConfiguration) async throws -> PostgresConnection {
        let connection = PostgresConnection(configuration: configuration)
        do {
            try await connection.open()
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    /// Closes the session. Later calls throw ``PostgresError/Code/closed``.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        handle = nil
        executor.stop()
    }

    /// The server process id of the current session (for `pg_terminate_backend`, logs).
    public var backendPID: Int32 {
        guard let handle else { return 0 }
        return PQbackendPID(handle.pointer)
    }

    /// Whether the session is idle: connected and outside any transaction.
    public var isIdleOutsideTransaction: Bool {
        guard let handle, PQstatus(handle.pointer) == CONNECTION_OK else { return false }
        return PQtransactionStatus(handle.pointer) == PQTRANS_IDLE
    }

    // MARK: Statements

    /// Runs one statement with bound parameters and returns its rows.
    ///
    /// - Parameters:
    ///   - sql: a single statement with `$1`, `$2`, … placeholders.
    ///   - parameters: the values of the placeholders, in order (`nil` optional = NULL).
    @discardableResult
    public func query(_ sql: String, parameters: [any PostgresEncodable]) throws -> QueryResult {
        let connection = try connectedHandle()
        let texts = parameters.map(\.postgresText)
        for (index, text) in texts.enumerated() where text?.utf8.contains(0) == true {
            throw PostgresError(code: .invalidArgument, message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot hold")
        }
        let sent = withCStringArray(texts) { values in
            PQsendQueryParams(connection, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        guard sent == 1 else { return try consume(nil) }
        return try consume(try awaitResult(connection))
    }

    // MARK: Bounded, cancellable waits

    /// Waits for the answer to the statement just sent, never longer than
    /// ``PostgresConfiguration/statementDeadline``, and gives up early when the calling
    /// task is cancelled.
    ///
    /// - A cancelled task asks the server to cancel the statement (`PQcancel`, from a
    ///   thread of its own, since it opens a connection and may block), then waits
    ///   ``cancelGrace`` for the server's answer.
    /// - At the deadline, or when the cancel goes unanswered (the server or the network
    ///   is gone), the session is dropped: its socket is closed (the server rolls back
    ///   what it was doing once it notices) and the statement fails with
    ///   ``PostgresError/Code/connectionLost``: it may or may not have taken effect, and
    ///   it is never re-sent. The next statement outside a transaction reconnects.
    /// - Returns: the statement's last result (nil after a failure libpq reports itself).
    private func awaitResult(_ pointer: OpaquePointer) throws -> OpaquePointer? {
        let started = ContinuousClock.now
        let deadline = configuration.statementDeadline.map { started + $0 }
        // A task already cancelled may still clean up (mark itself stopped, roll back);
        // only a cancellation that arrives while the statement runs cancels it.
        let cancellable = !Task.isCancelled
        var cancelSentAt: ContinuousClock.Instant?
        func abandon(_ why: String) -> PostgresError {
            handle = nil
            return PostgresError(code: .connectionLost, message: why)
        }
        // Send what libpq could not write at once (large parameters).
        while true {
            let flushed = PQflush(pointer)
            if flushed == 0 { break }
            if flushed < 0 { return nil }
            _ = Self.waitForSocket(pointer, events: Int16(POLLOUT | POLLIN), milliseconds: 100)
            if PQconsumeInput(pointer) == 0 { return nil }
        }
        var last: OpaquePointer?
        while true {
            while PQisBusy(pointer) == 1 {
                let now = ContinuousClock.now
                if let deadline, now >= deadline {
                    Self.requestCancel(pointer)
                    if let last { PQclear(last) }
                    throw abandon("no answer from the server within \(configuration.statementDeadline!) (the statement's deadline); the session was dropped and the statement may or may not have taken effect")
                }
                if let sent = cancelSentAt {
                    if now - sent >= Self.cancelGrace {
                        if let last { PQclear(last) }
                        throw abandon("the statement was cancelled and the server did not confirm within \(Self.cancelGrace); the session was dropped")
                    }
                } else if cancellable, Task.isCancelled {
                    Self.requestCancel(pointer)
                    cancelSentAt = now
                }
                var wait = 100
                if let deadline { wait = min(wait, max(1, Int((deadline - now) / .milliseconds(1)))) }
                _ = Self.waitForSocket(pointer, events: Int16(POLLIN), milliseconds: wait)
                if PQconsumeInput(pointer) == 0 {
                    if let last { PQclear(last) }
                    return nil
                }
            }
            guard let result = PQgetResult(pointer) else { return last }
            // Keep the first error, else the last result.
            if let previous = last {
                if PQresultStatus(previous) == PGRES_FATAL_ERROR { PQclear(result); continue }
                PQclear(previous)
            }
            last = result
        }
    }

    /// How long a cancelled statement may take to stop before the session is dropped.
    static let cancelGrace: Duration = .seconds(2)

    private static func waitForSocket(_ pointer: OpaquePointer, events: Int16, milliseconds: Int) -> Bool {
        let socket = PQsocket(pointer)
        guard socket >= 0 else { return true }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        return poll(&descriptor, 1, Int32(milliseconds)) > 0
    }

    /// Asks the server to cancel the session's statement, from a thread of its own:
    /// `PQcancel` opens a connection and may block as long as the network does.
    private static func requestCancel(_ pointer: OpaquePointer) {
        guard let cancel = PQgetCancel(pointer) else { return }
        let request = CancelRequest(cancel)
        Thread.detachNewThread {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(request.pointer, &buffer, Int32(buffer.count))
            PQfreeCancel(request.pointer)
        }
    }

    /// Runs one statement with bound parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: any PostgresEncodable...) throws -> QueryResult {
        try query(sql, parameters: parameters)
    }

    /// Runs a script of one or more statements without parameters (migrations, DDL).
    /// Uses libpq's simple-query protocol, so values must never be spliced into `sql`.
    public func executeScript(_ sql: String) throws {
        let connection = try connectedHandle()
        _ = try consume(PQexec(connection, sql))
    }

    // MARK: Transactions

    /// Runs `body` inside `BEGIN` … `COMMIT`; any thrown error rolls back and is rethrown.
    ///
    /// If a statement inside failed and `body` swallowed the error, the server has
    /// already aborted the transaction: `COMMIT` then throws instead of pretending.
    @discardableResult
    public func transaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await begin()
        let value: T
        do {
            value = try await body(self)
        } catch {
            await rollbackQuietly()
            throw error
        }
        try await commit()
        return value
    }

    func begin() throws {
        guard !transactionOpen else {
            throw PostgresError(code: .invalidArgument, message: "a transaction is already open on this connection; nest work inside it instead")
        }
        try query("BEGIN")
        transactionOpen = true
    }

    func commit() throws {
        defer { transactionOpen = false }
        try query("COMMIT")
        if lastTag == "ROLLBACK" {
            throw PostgresError(code: .server, message: "the transaction was rolled back by the server because a statement in it failed")
        }
    }

    func rollbackQuietly() {
        defer { transactionOpen = false }
        guard let handle, PQstatus(handle.pointer) == CONNECTION_OK else { return }
        if PQtransactionStatus(handle.pointer) != PQTRANS_IDLE {
            PQclear(PQexec(handle.pointer, "ROLLBACK"))
        }
    }

    /// Rolls back whatever a previous user left open; used by the pool on check-in.
    func resetSession() {
        rollbackQuietly()
    }

    /// The command tag of the last successful statement (e.g. `COMMIT`, `ROLLBACK`).
    private var lastTag: String?

    // MARK: Connection management

    /// The keywords and values `PQconnectdbParams` and `PQpingParams` get (with `expand_dbname`):
    /// settings before `dbname` are defaults the connection string may override; the ones
    /// after it override the string.
    private static func connectionParameters(_ configuration: PostgresConfiguration) -> (keywords: [String], values: [String]) {
        var keywords = ["application_name", "connect_timeout", "dbname", "client_encoding"]
        var values = [configuration.applicationName, String(configuration.connectTimeoutSeconds), configuration.connectionString, "UTF8"]
        if let database = configuration.database {
            keywords.append("dbname")
            values.append(database)
        }
        if let user = configuration.user {
            keywords.append("user")
            values.append(user)
        }
        if let password = configuration.password {
            keywords.append("password")
            values.append(password)
        }
        return (keywords, values)
    }

    /// Whether a server answers at `configuration`'s address and accepts connections,
    /// whatever its login and password (`PQpingParams`). After a failed connect it tells
    /// "the server is down or starting" (false) from "the server refused these
    /// credentials" (true). Runs on a thread of its own, like every libpq call here.
    public static func serverAcceptsConnections(_ configuration: PostgresConfiguration) async -> Bool {
        let probe = PostgresConnection(configuration: configuration)
        let accepts = await probe.ping()
        await probe.close()
        return accepts
    }

    private func ping() -> Bool {
        guard configuration.connectionStringParses else { return false }
        let (keywords, values) = Self.connectionParameters(configuration)
        let answer = withCStringArray(keywords + [nil]) { keys in
            withCStringArray(values.map(Optional.some) + [nil]) { vals in
                PQpingParams(keys, vals, 1)
            }
        }
        return answer == PQPING_OK
    }

    func open() throws {
        guard !isClosed else { throw PostgresError(code: .closed, message: "the connection was closed") }
        let (keywords, values) = Self.connectionParameters(configuration)
        guard configuration.connectionStringParses else {
            throw PostgresError(code: .connectionFailed, message: Self.unparsableConnectionString)
        }
        let pointer: OpaquePointer? = withCStringArray(keywords + [nil]) { keys in
            withCStringArray(values.map(Optional.some) + [nil]) { vals in
                PQconnectdbParams(keys, vals, 1)
            }
        }
        guard let pointer else {
            throw PostgresError(code: .connectionFailed, message: "could not connect to PostgreSQL: out of memory")
        }
        let candidate = ConnectionHandle(pointer)
        guard PQstatus(pointer) == CONNECTION_OK else {
            throw PostgresError(code: .connectionFailed, message: Self.describeFailure(pointer, scrub: configuration.scrub))
        }
        var setupSQL = "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 3"
        if let seconds = configuration.idleInTransactionTimeoutSeconds, seconds > 0 {
            setupSQL += "; SET idle_in_transaction_session_timeout = \(seconds * 1000)"
        }
        let setup = PQexec(pointer, setupSQL)
        defer { PQclear(setup) }
        guard PQresultStatus(setup) == PGRES_COMMAND_OK else {
            throw PostgresError.from(result: setup, connection: pointer)
        }
        candidate.watchNotices()
        handle = candidate
        for channel in listeningChannels.sorted() {
            let result = PQexec(pointer, "LISTEN \(Self.quoteIdentifier(channel))")
            PQclear(result)
        }
    }

    /// Said instead of libpq's parse error, which quotes the fragment it could not read
    /// (often the password).
    static let unparsableConnectionString = "the connection string (DATABASE_URL or --database-url) cannot be parsed by libpq. "
        + "Check its syntax: a URI postgresql://user:password@host:port/database?option=value or key=value pairs; "
        + "percent-encode special characters in a URI (% as %25, @ as %40, : as %3A, / as %2F). "
        + "The string is not shown because it may contain a password."

    static func describeFailure(_ pointer: OpaquePointer, scrub: (String) -> String = PostgresConfiguration.redact) -> String {
        func text(_ value: UnsafeMutablePointer<CChar>?) -> String {
            guard let value else { return "?" }
            let string = String(cString: value)
            return string.isEmpty ? "(default)" : string
        }
        let reason = String(cString: PQerrorMessage(pointer))
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: " ")
        let where_ = "host \(text(PQhost(pointer))), port \(text(PQport(pointer))), database \(text(PQdb(pointer))), user \(text(PQuser(pointer)))"
        return "could not connect to PostgreSQL at \(where_): \(scrub(reason)). "
            + "Check that the server is running and DATABASE_URL (or PGHOST/PGPORT/PGDATABASE/PGUSER) is right."
    }

    /// Returns a live session, reconnecting first when the old one is gone.
    ///
    /// Any bytes the server sent while we were idle are read first, so a backend that
    /// was terminated (or a server that restarted) is noticed before a statement is sent.
    private func connectedHandle() throws -> OpaquePointer {
        guard !isClosed else { throw PostgresError(code: .closed, message: "the connection was closed") }
        if let handle {
            let pointer = handle.pointer
            if PQstatus(pointer) == CONNECTION_OK, !transactionOpen {
                var attempts = 0
                while attempts < 3, Self.socketReadable(pointer) {
                    attempts += 1
                    if PQconsumeInput(pointer) == 0 { break }
                    // Parse what arrived: a FATAL message sent while we were idle (backend
                    // terminated, server shutting down) reaches the notice receiver.
                    _ = PQisBusy(pointer)
                }
            }
            if PQstatus(pointer) == CONNECTION_OK, !handle.sessionEnding { return pointer }
        }
        if transactionOpen {
            throw PostgresError(code: .connectionLost, message: "the connection was lost inside a transaction; the transaction was rolled back by the server")
        }
        if handle != nil { reconnectCount += 1 }
        handle = nil
        try open()
        return handle!.pointer
    }

    private static func socketReadable(_ pointer: OpaquePointer) -> Bool {
        let socket = PQsocket(pointer)
        guard socket >= 0 else { return true }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    /// Turns a libpq result into a `QueryResult` or a thrown error, and frees it.
    func consume(_ result: OpaquePointer?) throws -> QueryResult {
        defer { if let result { PQclear(result) } }
        let pointer = handle?.pointer
        guard let result else { throw PostgresError.from(result: nil, connection: pointer) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            lastTag = PQcmdStatus(result).map { String(cString: $0) }
            return Self.copyRows(result)
        default:
            lastTag = nil
            throw PostgresError.from(result: result, connection: pointer)
        }
    }

    static func copyRows(_ result: OpaquePointer) -> QueryResult {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var names: [String] = []
        names.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            names.append(String(cString: PQfname(result, Int32(column))))
        }
        let index = ColumnIndex(names: names)
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(row), Int32(column)))
                    let raw = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
                    values.append(String(decoding: UnsafeRawBufferPointer(start: raw, count: length), as: UTF8.self))
                }
            }
            rows.append(PostgresRow(values: values, columnIndex: index))
        }
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        return QueryResult(columns: names, rows: rows, affectedRows: affected)
    }

    // MARK: LISTEN / NOTIFY

    /// Subscribes this session to a channel. Kept across reconnects.
    public func listen(_ channel: String) throws {
        try executeScript("LISTEN \(Self.quoteIdentifier(channel))")
        listeningChannels.insert(channel)
    }

    /// Unsubscribes this session from a channel.
    public func unlisten(_ channel: String) throws {
        listeningChannels.remove(channel)
        try executeScript("UNLISTEN \(Self.quoteIdentifier(channel))")
    }

    /// Sends a notification (`pg_notify`, bound parameters).
    public func notify(_ channel: String, payload: String = "") throws {
        try query("SELECT pg_notify($1, $2)", channel, payload)
    }

    /// Waits for the next notification on a channel this session listens to.
    ///
    /// Returns `nil` when the timeout passes, when ``interruptWait()`` is called, or when
    /// the calling task is cancelled — promptly in each case. Reconnects (and listens
    /// again) if the session was lost; notifications sent meanwhile are not recovered,
    /// so treat them as wake-up hints and poll as a fallback.
    /// - Parameter timeout: how long to wait at most; `nil` waits until interrupted.
    public func nextNotification(timeout: Duration? = nil) async throws -> PostgresNotification? {
        try await withTaskCancellationHandler {
            try self.waitForNotification(timeout: timeout)
        } onCancel: {
            self.interruptWait()
        }
    }

    /// Makes a pending or the next ``nextNotification(timeout:)`` return `nil` at once.
    public nonisolated func interruptWait() {
        wakePipe.signal()
    }

    private func waitForNotification(timeout: Duration?) throws -> PostgresNotification? {
        var pointer = try connectedHandle()
        wakePipe.drain()
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if Task.isCancelled { return nil }
            if PQconsumeInput(pointer) == 0 || PQstatus(pointer) != CONNECTION_OK {
                pointer = try connectedHandle()
                continue
            }
            if let notification = PQnotifies(pointer) {
                defer { PQfreemem(notification) }
                return PostgresNotification(
                    channel: String(cString: notification.pointee.relname),
                    payload: String(cString: notification.pointee.extra),
                    senderPID: notification.pointee.be_pid
                )
            }
            var milliseconds: Int32 = -1
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                if left <= .zero { return nil }
                let (seconds, attoseconds) = left.components
                milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            }
            var descriptors = [
                pollfd(fd: PQsocket(pointer), events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakePipe.readEnd, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, 2, milliseconds)
            if ready < 0, errno != EINTR {
                throw PostgresError(code: .connectionLost, message: "poll failed: \(String(cString: strerror(errno)))")
            }
            if descriptors[1].revents != 0 {
                wakePipe.drain()
                return nil
            }
        }
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A notification delivered by `NOTIFY` / `pg_notify`.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The server process that sent it.
    public let senderPID: Int32
}

/// Owns a `PGconn*`; finishing the connection when released.
final class ConnectionHandle {
    let pointer: OpaquePointer
    /// Set when the server sent a FATAL or PANIC message: the session is ending.
    var sessionEnding = false

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    /// Routes server notices here instead of libpq's default (printing to stderr), and
    /// notes a FATAL message that arrives between statements.
    func watchNotices() {
        let context = Unmanaged.passUnretained(self).toOpaque()
        PQsetNoticeReceiver(pointer, { context, result in
            guard let context, let result else { return }
            let handle = Unmanaged<ConnectionHandle>.fromOpaque(context).takeUnretainedValue()
            if let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))) {
                let text = String(cString: severity)
                if text == "FATAL" || text == "PANIC" { handle.sessionEnding = true }
            }
        }, context)
    }

    deinit { PQfinish(pointer) }
}

/// A libpq cancel object handed to the thread that sends it (used there only).
final class CancelRequest: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// A non-blocking pipe used to interrupt a `poll()` wait from another thread.
final class WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 {
            fatalError("pipe failed: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }
}

/// Calls `body` with a C array of C strings (`nil` entries stay NULL).
func withCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let duplicated: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { duplicated.forEach { free($0) } }
    return body(duplicated.map { $0.map { UnsafePointer($0) } })
}
