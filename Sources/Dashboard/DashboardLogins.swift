import Foundation
import Hummingbird
import PostgresClient
import Synchronization

/// Who may read the dashboard: a database login that is a member of the read-only role
/// `taskforce_dashboard`, checked by connecting to PostgreSQL as that login — there is no
/// second list of users or passwords.
///
/// The page, its JSON API and `/metrics` take the login as HTTP basic auth (what
/// browsers, Prometheus and Grafana speak). A login that passed is remembered for
/// ``acceptFor`` so that a page refreshing every few seconds does not open a session
/// each time; failures are counted per login and client, and past ``failureLimit``
/// within ``failureWindow`` further tries are refused without asking the database (HTTP
/// 429); at most four checks open a session at once. The server must have checked the
/// password, and superusers are refused. Passwords are never logged.
package final class DashboardLogins: Sendable {
    /// The outcome of one check.
    package enum Verdict: Sendable, Equatable {
        case accepted
        /// Wrong login or password, or not a member of the dashboard role.
        case refused
        /// Too many recent failures for this login or client.
        case limited
    }

    /// How long a login that passed is accepted without asking the database again.
    package let acceptFor: Duration
    /// Failures allowed per login (and per client) within ``failureWindow``.
    package let failureLimit: Int
    package let failureWindow: Duration
    /// The group role a login must be a member of.
    package static let role = "taskforce_dashboard"

    private let server: PostgresConfiguration
    private struct Accepted { let authorization: [UInt8]; let until: ContinuousClock.Instant }
    private let accepted = Mutex<[String: Accepted]>([:])
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    /// Checks under way; at most ``concurrentChecks`` open a session at once, so a flood
    /// of guesses cannot take the database's connections.
    private let verifying = Mutex(0)
    static let concurrentChecks = 4
    /// Failure records kept at most (the oldest go first), so random names cannot grow memory.
    static let failureRecordLimit = 10_000

    /// - Parameters:
    ///   - server: where to check logins (its own user and password are replaced by the login's).
    ///   - acceptFor: how long a passed login is remembered.
    ///   - failureLimit: failures per login or client within `failureWindow` before refusing outright.
    ///   - failureWindow: the window for `failureLimit`.
    package init(server: PostgresConfiguration, acceptFor: Duration = .seconds(30), failureLimit: Int = 5,
                failureWindow: Duration = .seconds(60)) {
        var server = server
        server.applicationName = "dashboard-login-check"
        server.connectTimeoutSeconds = 5
        self.server = server
        self.acceptFor = acceptFor
        self.failureLimit = failureLimit
        self.failureWindow = failureWindow
    }

    /// Checks an `Authorization` header value (`Basic base64(user:password)`).
    /// - Parameters:
    ///   - authorization: the header's value, or nil when the request had none.
    ///   - client: the client's address, for rate limiting (nil when unknown).
    package func check(authorization: String?, client: String?) async -> Verdict {
        guard let authorization, let (user, password) = Self.parseBasic(authorization) else { return .refused }
        let now = ContinuousClock.now
        let bytes = Array(authorization.utf8)
        if let known = accepted.withLock({ $0[user] }), known.until > now, Self.constantTimeEqual(known.authorization, bytes) {
            return .accepted
        }
        if isLimited(user: user, client: client, now: now) { return .limited }
        // Too many checks under way: refuse without counting it against the login.
        guard verifying.withLock({ count -> Bool in
            guard count < Self.concurrentChecks else { return false }
            count += 1
            return true
        }) else { return .limited }
        let passed = await verify(user: user, password: password)
        verifying.withLock { $0 -= 1 }
        if passed {
            accepted.withLock { $0[user] = Accepted(authorization: bytes, until: now + acceptFor) }
            return .accepted
        }
        failures.withLock { table in
            if table.count > Self.failureRecordLimit {
                table = table.filter { _, times in times.contains { now - $0 < failureWindow } }
                if table.count > Self.failureRecordLimit { table.removeAll() }
            }
            for key in Self.keys(user: user, client: client) { table[key, default: []].append(now) }
        }
        return .refused
    }

    private func isLimited(user: String, client: String?, now: ContinuousClock.Instant) -> Bool {
        failures.withLock { table in
            var limited = false
            for key in Self.keys(user: user, client: client) {
                let recent = (table[key] ?? []).filter { now - $0 < failureWindow }
                table[key] = recent.isEmpty ? nil : recent
                if recent.count >= failureLimit { limited = true }
            }
            return limited
        }
    }

    /// Failures are counted per login at one client and per client, so guesses from one
    /// address are slowed down while a stranger elsewhere cannot lock a login out for
    /// everyone. When the client's address is unknown, per login.
    private static func keys(user: String, client: String?) -> [String] {
        guard let client else { return ["user:" + user] }
        return ["user:" + user + "@" + client, "client:" + client]
    }

    /// Connects as the login and asks whether it is a member of the dashboard role. The
    /// server must have checked the password (a `trust` or `peer` rule would accept any),
    /// and superusers are refused (they are members of every role, and have no business
    /// reading a dashboard over the network).
    private func verify(user: String, password: String) async -> Bool {
        guard !user.isEmpty, !password.isEmpty, !user.contains("\u{0}"), !password.contains("\u{0}") else { return false }
        do {
            let connection = try await PostgresConnection.connect(server.with(user: user, password: password))
            defer { Task { await connection.close() } }
            guard await connection.usedPassword() else { return false }
            let row = try await connection.query(DashboardQueries.isDashboardReader, Self.role).first
            return try row?.decode(0, as: Bool.self) ?? false
        } catch {
            return false
        }
    }

    /// `Basic base64(user:password)` → (user, password).
    static func parseBasic(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

/// Requires a dashboard login (``DashboardLogins``) on every route it guards.
struct DashboardAuthMiddleware: RouterMiddleware {
    typealias Context = DashboardRequestContext
    let logins: DashboardLogins

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let client = context.clientAddress
        switch await logins.check(authorization: request.headers[.authorization], client: client) {
        case .accepted:
            return try await next(request, context)
        case .limited:
            return Response(status: .tooManyRequests, headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "60"],
                            body: .init(byteBuffer: ByteBuffer(string: "too many failed logins; try again in a minute\n")))
        case .refused:
            return Response(
                status: .unauthorized,
                headers: [.wwwAuthenticate: "Basic realm=\"taskforce dashboard\", charset=\"UTF-8\"", .contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "log in with a database login of the dashboard role (dispatcher roles login NAME --role dashboard)\n")))
        }
    }
}

/// The dashboard's request context: Hummingbird's basic one plus the client's address
/// (for counting failed logins per client).
package struct DashboardRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The client's IP address, when the connection has one.
    package let clientAddress: String?

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }
}
