import Foundation
import PostgresClient
import Synchronization
import TaskForces

/// Who a session's login is, read from its role memberships when it logs in. It chooses
/// the pages and buttons to offer; what the login may see and change is decided by
/// PostgreSQL's row-level security on every statement, never by this.
package struct ConsoleIdentity: Sendable, Equatable {
    package var login: String
    /// The task forces it is an officer of (`taskforce_officer_TF`).
    package var officerOf: [TaskForce]
    /// A member of `taskforce_leader`.
    package var leader: Bool
    /// A member of `taskforce_dispatcher` (operators: triage, callbacks).
    package var dispatcher: Bool

    package init(login: String, officerOf: [TaskForce] = [], leader: Bool = false, dispatcher: Bool = false) {
        self.login = login
        self.officerOf = officerOf
        self.leader = leader
        self.dispatcher = dispatcher
    }

    /// Whether the login has any casework role at all (else the console refuses it).
    package var isCaseworker: Bool { !officerOf.isEmpty || leader || dispatcher }
}

/// One logged-in person: their own connections to PostgreSQL (a small pool opened as their
/// login), a CSRF token for their forms, and a one-shot message for the next page.
package final class ConsoleSession: Sendable {
    /// The cookie's value: 256 random bits.
    package let id: String
    /// The token every form of this session carries (compared in constant time).
    package let csrfToken: String
    package let identity: ConsoleIdentity
    /// Connections as the login itself (its password is held only by this pool, in memory,
    /// until logout or expiry).
    package let pool: ConnectionPool
    let createdAt: ContinuousClock.Instant
    private struct State { var lastSeen: ContinuousClock.Instant; var flash: Flash?; var closed = false }
    private let state: Mutex<State>

    /// A message for the next page: what was done, or why it was refused.
    package struct Flash: Sendable, Equatable {
        package var text: String
        package var isError: Bool
    }

    init(identity: ConsoleIdentity, pool: ConnectionPool, now: ContinuousClock.Instant) {
        self.id = ConsoleSessions.randomToken()
        self.csrfToken = ConsoleSessions.randomToken()
        self.identity = identity
        self.pool = pool
        self.createdAt = now
        self.state = Mutex(State(lastSeen: now))
    }

    var lastSeen: ContinuousClock.Instant { state.withLock { $0.lastSeen } }
    func touch(_ now: ContinuousClock.Instant) { state.withLock { $0.lastSeen = now } }

    /// Leaves a message for the next page.
    package func setFlash(_ text: String, isError: Bool = false) { state.withLock { $0.flash = Flash(text: text, isError: isError) } }
    /// Takes the message left for this page, if any.
    package func takeFlash() -> Flash? { state.withLock { state in defer { state.flash = nil }; return state.flash } }

    /// Whether `token` is this session's CSRF token.
    package func checkCSRF(_ token: String?) -> Bool {
        guard let token else { return false }
        return ConsoleSessions.constantTimeEqual(Array(token.utf8), Array(csrfToken.utf8))
    }

    /// Closes the login's connections (once).
    func close() async {
        let first = state.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        if first { await pool.close() }
    }
}

/// The console's sessions: logging in (by connecting to PostgreSQL as the login, with the
/// password from the form), looking a session up by its cookie, expiry and logout.
///
/// - A session ends after ``idleTimeout`` without a request, after ``maxLifetime`` in any
///   case, or at logout; its connections are closed then.
/// - Failed logins are counted per login at one client and per client; past
///   ``failureLimit`` within ``failureWindow`` further tries are refused without asking
///   the database. Per login over all clients the limit is ``loginFailureLimit`` (higher,
///   so a stranger slows a login down rather than locking it out at once, but guesses
///   spread over many addresses are bounded too). The table of failures is bounded: past
///   ``failureRecordLimit`` keys the stalest go first. At most four logins are checked at once.
/// - A login the server does not answer for (down, restarting) is ``LoginOutcome/unavailable``,
///   not a failure.
/// - The server must have checked the password (a `trust` rule would accept any), and
///   superusers are refused. Passwords are never logged or kept outside the session's pool.
package final class ConsoleSessions: Sendable {
    /// The outcome of a login.
    package enum LoginOutcome: Sendable {
        case accepted(ConsoleSession)
        /// Wrong login or password (or the server did not ask for one, or a superuser).
        case refused
        /// A valid login without a casework role (officer, operator, leader).
        case notCaseworker
        /// Too many recent failures for this login or client, or too many checks at once.
        case limited
        /// The server did not answer (down, restarting): nothing is known of the password,
        /// so nothing is counted.
        case unavailable
    }

    package let idleTimeout: Duration
    package let maxLifetime: Duration
    package let failureLimit: Int
    package let failureWindow: Duration
    /// Failed logins of one login over all clients within `failureWindow` before refusing outright.
    package let loginFailureLimit: Int
    /// Sessions kept at most (the least recently used goes first).
    package let maxSessions: Int
    /// Sessions per login at most (its oldest goes first).
    package let sessionsPerLogin: Int
    /// Connections each session may open at once.
    package let connectionsPerSession: Int

    private let server: PostgresConfiguration
    private let sessions = Mutex<[String: ConsoleSession]>([:])
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    private let verifying = Mutex(0)
    static let concurrentChecks = 4
    static let failureRecordLimit = 10_000

    /// - Parameters:
    ///   - server: where to connect (its own user and password are replaced by each login's).
    ///   - idleTimeout: a session ends after this long without a request.
    ///   - maxLifetime: a session ends this long after its login in any case.
    ///   - failureLimit: failed logins per login or client within `failureWindow` before refusing outright.
    ///   - failureWindow: the window for `failureLimit`.
    ///   - maxSessions: sessions kept at most.
    ///   - sessionsPerLogin: sessions of one login at most.
    ///   - connectionsPerSession: connections each session may hold.
    ///   - loginFailureLimit: failed logins of one login over all clients within `failureWindow`
    ///     before refusing outright (four times `failureLimit` unless given).
    package init(server: PostgresConfiguration, idleTimeout: Duration = .seconds(30 * 60), maxLifetime: Duration = .seconds(12 * 3600),
                 failureLimit: Int = 5, failureWindow: Duration = .seconds(60), maxSessions: Int = 200, sessionsPerLogin: Int = 4,
                 connectionsPerSession: Int = 2, loginFailureLimit: Int? = nil) {
        var server = server
        server.applicationName = "console"
        server.connectTimeoutSeconds = 5
        self.server = server
        self.idleTimeout = idleTimeout
        self.maxLifetime = maxLifetime
        self.failureLimit = failureLimit
        self.failureWindow = failureWindow
        self.loginFailureLimit = max(failureLimit, loginFailureLimit ?? 4 * failureLimit)
        self.maxSessions = max(1, maxSessions)
        self.sessionsPerLogin = max(1, sessionsPerLogin)
        self.connectionsPerSession = max(1, connectionsPerSession)
    }

    /// Logs in as `user` with `password`: connects as that login and reads its roles.
    /// - Parameter client: the client's address, for counting failures (nil when unknown).
    package func login(user: String, password: String, client: String?) async -> LoginOutcome {
        let now = ContinuousClock.now
        if isLimited(user: user, client: client, now: now) { return .limited }
        guard verifying.withLock({ count -> Bool in
            guard count < Self.concurrentChecks else { return false }
            count += 1
            return true
        }) else { return .limited }
        let outcome = await verify(user: user, password: password, now: now)
        verifying.withLock { $0 -= 1 }
        switch outcome {
        case .accepted(let session):
            let evicted = sessions.withLock { table -> [ConsoleSession] in
                var evicted: [ConsoleSession] = []
                let own = table.values.filter { $0.identity.login == session.identity.login }.sorted { $0.createdAt < $1.createdAt }
                for old in own.prefix(max(0, own.count - sessionsPerLogin + 1)) {
                    table[old.id] = nil
                    evicted.append(old)
                }
                while table.count >= maxSessions, let oldest = table.values.min(by: { $0.lastSeen < $1.lastSeen }) {
                    table[oldest.id] = nil
                    evicted.append(oldest)
                }
                table[session.id] = session
                return evicted
            }
            for old in evicted { await old.close() }
        case .refused:
            recordFailure(user: user, client: client, now: now)
        case .notCaseworker, .limited, .unavailable:
            break
        }
        return outcome
    }

    /// The live session with cookie value `id`, touched; nil (and closed) when it expired.
    package func session(_ id: String?) async -> ConsoleSession? {
        guard let id, !id.isEmpty else { return nil }
        let now = ContinuousClock.now
        let (found, expired) = sessions.withLock { table -> (ConsoleSession?, ConsoleSession?) in
            guard let session = table[id] else { return (nil, nil) }
            if isExpired(session, now: now) {
                table[id] = nil
                return (nil, session)
            }
            session.touch(now)
            return (session, nil)
        }
        if let expired { await expired.close() }
        return found
    }

    /// Ends the session with cookie value `id` and closes its connections.
    package func logout(_ id: String?) async {
        guard let id else { return }
        let removed = sessions.withLock { $0.removeValue(forKey: id) }
        await removed?.close()
    }

    /// Ends every expired session; returns how many.
    @discardableResult
    package func expire() async -> Int {
        let now = ContinuousClock.now
        let expired = sessions.withLock { table -> [ConsoleSession] in
            let gone = table.values.filter { isExpired($0, now: now) }
            for session in gone { table[session.id] = nil }
            return gone
        }
        for session in expired { await session.close() }
        return expired.count
    }

    /// Ends every session (shutdown).
    package func closeAll() async {
        let all = sessions.withLock { table -> [ConsoleSession] in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for session in all { await session.close() }
    }

    /// Sessions alive now.
    package var count: Int { sessions.withLock { $0.count } }

    private func isExpired(_ session: ConsoleSession, now: ContinuousClock.Instant) -> Bool {
        now - session.lastSeen >= idleTimeout || now - session.createdAt >= maxLifetime
    }

    private func verify(user: String, password: String, now: ContinuousClock.Instant) async -> LoginOutcome {
        guard !user.isEmpty, !password.isEmpty, user.utf8.count <= 63, !user.contains("\u{0}"), !password.contains("\u{0}") else {
            return .refused
        }
        let pool = ConnectionPool(configuration: server.with(user: user, password: password), maximumConnections: connectionsPerSession,
                                  checkoutTimeout: .seconds(10))
        do {
            let identity = try await pool.withConnection { connection -> ConsoleIdentity? in
                guard await connection.usedPassword() else { return nil }
                let row = try await connection.query(ConsoleQueries.identity).firstRow()
                guard try !row.decode("superuser", as: Bool.self) else { return nil }
                let officerOf: [String] = try row.decode("officer_of")
                return ConsoleIdentity(login: try row.decode("login"), officerOf: officerOf.compactMap { TaskForce(rawValue: $0) },
                                       leader: try row.decode("leader"), dispatcher: try row.decode("dispatcher"))
            }
            guard let identity else {
                await pool.close()
                return .refused
            }
            guard identity.isCaseworker else {
                await pool.close()
                return .notCaseworker
            }
            return .accepted(ConsoleSession(identity: identity, pool: pool, now: now))
        } catch {
            await pool.close()
            return await credentialsRefused(error) ? .refused : .unavailable
        }
    }

    /// Whether `error`, from a session's (or a login's) connections, means the server
    /// refused the login's credentials (password changed, login disabled or dropped), as
    /// opposed to a server that is down or restarting: the connection could not be opened,
    /// yet the server answers.
    package func credentialsRefused(_ error: any Error) async -> Bool {
        guard let error = error as? PostgresError else { return true }
        guard error.code == .connectionFailed else { return !error.isConnectionError }
        return await PostgresConnection.serverAcceptsConnections(server)
    }

    private func isLimited(user: String, client: String?, now: ContinuousClock.Instant) -> Bool {
        failures.withLock { table in
            var limited = false
            for key in Self.keys(user: user, client: client) {
                let recent = (table[key] ?? []).filter { now - $0 < failureWindow }
                table[key] = recent.isEmpty ? nil : recent
                if recent.count >= (key.hasPrefix("login:") ? loginFailureLimit : failureLimit) { limited = true }
            }
            return limited
        }
    }

    private func recordFailure(user: String, client: String?, now: ContinuousClock.Instant) {
        failures.withLock { table in
            for key in Self.keys(user: user, client: client) { table[key, default: []].append(now) }
            guard table.count > Self.failureRecordLimit else { return }
            // Bounded: forget what is past the window, then the keys whose last failure is
            // the oldest (never everything at once, which would lift every limit).
            table = table.filter { _, times in times.contains { now - $0 < failureWindow } }
            // Down to nine tenths, so that the sort runs once per thousand failures, not each time.
            let excess = table.count - Self.failureRecordLimit * 9 / 10
            if table.count > Self.failureRecordLimit {
                for (key, _) in table.sorted(by: { ($0.value.last ?? now) < ($1.value.last ?? now) }).prefix(excess) { table[key] = nil }
            }
        }
    }

    /// Failed logins kept (keys of the failure table) at most.
    package var failureRecords: Int { failures.withLock { $0.count } }

    /// Per login at one client, per client, and per login over all clients (with the higher
    /// ``loginFailureLimit``): guesses from one address are slowed down at once, guesses
    /// spread over many addresses soon after, while a stranger elsewhere cannot lock a login
    /// out for everyone at the first few tries. A login name is counted by its first 64 bytes
    /// (PostgreSQL's names are shorter), so a key's size is bounded.
    private static func keys(user: String, client: String?) -> [String] {
        let user = user.utf8.count <= 64 ? user : String(decoding: user.utf8.prefix(64), as: UTF8.self)
        let client = client.map { $0.utf8.count <= 64 ? $0 : String(decoding: $0.utf8.prefix(64), as: UTF8.self) }
        guard let client else { return ["user:" + user] }
        return ["user:" + user + "@" + client, "client:" + client, "login:" + user]
    }

    /// 256 random bits from the system's generator, base64url without padding (cookie-safe).
    package static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
