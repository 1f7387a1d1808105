import CaseLedger
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import PostgresClient
import TaskForces

/// The casework console's HTTP service (docs/console.md):
/// - `GET /login`, `POST /login` (fields `username`, `password`, `csrf`), `POST /logout`;
/// - `GET /` the inbox, `GET /cases/ID` a case, `POST /cases/ID/ACTION` its casework;
/// - `GET /triage`, `POST /triage/ID/assign` (operators), `GET /leader` (leaders);
/// - `GET /lang/zh|en` the language switch, `/assets/…` its stylesheet and script, `/healthz`.
///
/// Every request of a logged-in person runs on that person's own connections (as their
/// database login), so row-level security decides what they see and may change. Database
/// work runs on the connections' own threads (``PostgresConnection``), never blocking
/// Swift's cooperative pool. Without a session, pages redirect to `/login` and other
/// requests get 401; every form carries the session's CSRF token.
package enum ConsoleApp {
    /// How the console is set up.
    package struct Options: Sendable {
        /// Cookies only over HTTPS (`Secure`, `__Host-` names): TLS is terminated by the
        /// console itself or by a reverse proxy in front of it.
        package var secureCookies: Bool
        /// Trust `X-Real-IP` from a reverse proxy for the client's address (counting failed logins).
        package var behindProxy: Bool
        /// The time-limit policy and calendar the casework verbs use (its time zone shows times).
        package var policy: TimeLimitPolicy
        package var calendar: WorkCalendar
        /// Classifies triage cases for their suggestions, and drafts answers.
        package var classifier: RoutingClassifier
        package var advisor: CaseAdvisor

        /// - Parameters:
        ///   - secureCookies: mark cookies `Secure` (behind TLS).
        ///   - behindProxy: take the client's address from `X-Real-IP`.
        ///   - policy: the time-limit policy.
        ///   - calendar: the working calendar.
        ///   - classifier: the routing model.
        ///   - advisor: the advisor that drafts answers.
        package init(secureCookies: Bool = false, behindProxy: Bool = false, policy: TimeLimitPolicy, calendar: WorkCalendar,
                     classifier: RoutingClassifier, advisor: CaseAdvisor) {
            self.secureCookies = secureCookies
            self.behindProxy = behindProxy
            self.policy = policy
            self.calendar = calendar
            self.classifier = classifier
            self.advisor = advisor
        }
    }

    /// The most a form body may be.
    static let maxFormBytes = 64 * 1024

    /// The routes.
    package static func router(sessions: ConsoleSessions, options: Options) -> Router<ConsoleRequestContext> {
        let handlers = ConsoleHandlers(sessions: sessions, options: options)
        let router = Router(context: ConsoleRequestContext.self)
        router.add(middleware: ConsoleHeadersMiddleware(secure: options.secureCookies))
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/assets/console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsoleAssets.css)))
        }
        router.get("/assets/console.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsoleAssets.js)))
        }
        router.get("/login") { request, context in handlers.loginForm(request, context) }
        router.post("/login") { request, context in try await handlers.login(request, context) }
        router.get("/lang/{language}") { request, context in handlers.switchLanguage(request, context) }
        let guarded = router.group().add(middleware: ConsoleSessionMiddleware(sessions: sessions, cookieName: handlers.sessionCookie))
        guarded.post("/logout") { request, context in try await handlers.logout(request, context) }
        guarded.get("/") { request, context in try await handlers.inbox(request, context) }
        guarded.get("/cases/{id}") { request, context in try await handlers.casePage(request, context) }
        guarded.post("/cases/{id}/{action}") { request, context in try await handlers.caseAction(request, context) }
        guarded.get("/triage") { request, context in try await handlers.triage(request, context) }
        guarded.post("/triage/{id}/assign") { request, context in try await handlers.assign(request, context) }
        guarded.get("/leader") { request, context in try await handlers.leader(request, context) }
        return router
    }

    /// Where and how to listen.
    package struct Listener: Sendable {
        package var host: String
        package var port: Int
        /// PEM files of the certificate chain and its private key, to serve HTTPS itself.
        package var tls: (certificate: String, key: String)?

        package init(host: String, port: Int, tls: (certificate: String, key: String)? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }
    }

    /// The application listening on `listener`.
    package static func application(sessions: ConsoleSessions, options: Options, listener: Listener,
                                    logger: Logger) throws -> some ApplicationProtocol {
        let configuration = ApplicationConfiguration(address: .hostname(listener.host, port: listener.port), serverName: "taskforce-console")
        let router = router(sessions: sessions, options: options)
        if let tls = listener.tls {
            let certificates = try NIOSSLCertificate.fromPEMFile(tls.certificate)
            let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            let tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: certificates.map { .certificate($0) },
                                                                            privateKey: .privateKey(key))
            return Application(router: router, server: try .tls(.http1(), tlsConfiguration: tlsConfiguration),
                               configuration: configuration, logger: logger)
        }
        return Application(router: router, server: .http1(), configuration: configuration, logger: logger)
    }

    /// Parses `HOST:PORT` (e.g. `127.0.0.1:8081`, `[::1]:8081`).
    package static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            throw ConsoleError(code: .invalidListenAddress, message: "listen address \"\(text)\" must be HOST:PORT, e.g. 127.0.0.1:8081", field: "listen")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// Whether `host` is a loopback address (only this machine can reach it): `localhost`,
    /// an IPv4 address in 127.0.0.0/8 or `::1`. A name such as `127.example.com` is not.
    package static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    /// Refuses plain HTTP on an address other machines can reach, unless told explicitly:
    /// passwords and session cookies would cross the network in clear.
    package static func checkTransport(host: String, tls: Bool, allowPlainHTTP: Bool) throws {
        guard !tls, !allowPlainHTTP, !isLoopback(host) else { return }
        throw ConsoleError(
            code: .plainHTTPRefused,
            message: "refusing plain HTTP on \(host), which other machines can reach: passwords and session cookies would cross the network unencrypted. "
                + "Listen on 127.0.0.1 behind a TLS reverse proxy (docs/console.md), give --tls-certificate and --tls-key, or pass --allow-plain-http",
            field: "listen")
    }
}

/// The console's request context: Hummingbird's basic one, the client's address (for
/// counting failed logins) and the session, once the session middleware found it.
package struct ConsoleRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The address of the connection's peer, when it has one.
    package let peerAddress: String?
    /// The logged-in session (set on the guarded routes).
    package var session: ConsoleSession?

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
        self.session = nil
    }
}

/// Security headers on every response: a content security policy that allows only the
/// console's own stylesheet and script, no framing, no referrer to other sites (same-origin:
/// browsers then send a real `Origin` with forms), no caching of pages.
struct ConsoleHeadersMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    let secure: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if secure { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// Requires a live session: without one, a page (GET) redirects to `/login?next=…`, anything
/// else is answered 401.
struct ConsoleSessionMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    let sessions: ConsoleSessions
    let cookieName: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let session = await sessions.session(request.cookies[cookieName]?.value) else {
            if request.method == .get || request.method == .head {
                let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                let expired = request.cookies[cookieName] != nil
                return Response(status: .seeOther, headers: [.location: "/login?next=\(HTML.query(target))\(expired ? "&expired=1" : "")"])
            }
            return Response(status: .unauthorized, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "log in first: /login\n")))
        }
        var context = context
        context.session = session
        return try await next(request, context)
    }
}
