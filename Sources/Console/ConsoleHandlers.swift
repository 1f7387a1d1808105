import CaseLedger
import Foundation
import Hummingbird
import PostgresClient
import TaskForces

/// What each route does. Database work always runs on the session's own pool (the
/// person's login), through the casework library code (`Casework`, `CaseLifecycle`,
/// `CaseOperations`), each action in one transaction there.
struct ConsoleHandlers: Sendable {
    let sessions: ConsoleSessions
    let options: ConsoleApp.Options

    /// `__Host-` cookies must be Secure, have Path=/ and no Domain: nothing else can set them.
    var sessionCookie: String { options.secureCookies ? "__Host-console_session" : "console_session" }
    var loginCookie: String { options.secureCookies ? "__Host-console_login" : "console_login" }
    static let languageCookie = "console_lang"

    private var casework: Casework { Casework(policy: options.policy, calendar: options.calendar) }

    // MARK: Helpers

    func language(_ request: Request) -> ConsoleLanguage {
        request.cookies[Self.languageCookie].flatMap { ConsoleLanguage(rawValue: $0.value) } ?? .zh
    }

    func pages(_ request: Request) -> ConsolePages {
        ConsolePages(text: ConsoleText(language(request)), timeZone: options.calendar.timeZone)
    }

    func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    func cookie(_ name: String, _ value: String, maxAge: Int?, path: String = "/") -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: options.secureCookies, httpOnly: true, sameSite: .strict)
    }

    func clientAddress(_ request: Request, _ context: ConsoleRequestContext) -> String? {
        if options.behindProxy, let real = request.headers[.init("X-Real-IP")!], !real.isEmpty { return real }
        return context.peerAddress
    }

    /// A local path to go back to (never another site: no scheme, no `//`, no backslash,
    /// which browsers read as `/`, and no control characters, which browsers drop from a
    /// URL: `/<TAB>/evil.example` would become `//evil.example`).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return "/" }
        return next
    }

    /// Whether a browser's `Origin` names this site: the same host and port as the request's
    /// `Host` (a port left out is the scheme's default). Another port on the same host is
    /// another origin.
    static func sameOrigin(_ origin: String, authority: String) -> Bool {
        guard let url = URL(string: origin), let scheme = url.scheme?.lowercased(), let originHost = url.host?.lowercased(),
              !originHost.isEmpty, !authority.isEmpty else { return false }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        func normalized(_ host: String, _ port: Int?) -> String {
            let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            guard let port, port != defaultPort else { return bare }
            return bare + ":" + String(port)
        }
        let lowered = authority.lowercased()
        var host = lowered
        var port: Int?
        if let colon = lowered.lastIndex(of: ":"), !lowered[colon...].contains("]") {
            guard let number = Int(lowered[lowered.index(after: colon)...]) else { return false }
            host = String(lowered[..<colon])
            port = number
        }
        return normalized(host, port) == normalized(originHost, url.port)
    }

    /// A browser names the page a form was sent from: true when that is another origin than ours.
    /// ("null", sent by privacy settings and sandboxes, names none: the token decides.)
    func foreignOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin], origin != "null" else { return false }
        return !Self.sameOrigin(origin, authority: request.head.authority ?? "")
    }

    /// Reads a form body; refuses it (403, nothing done) without the session's CSRF token,
    /// or when the browser says it comes from another origin.
    enum FormOutcome {
        case accepted(ConsoleForm)
        case refused(Response)
    }

    func form(_ request: Request, _ context: ConsoleRequestContext) async throws -> FormOutcome {
        var request = request
        if foreignOrigin(request) { return .refused(refusedForm(request)) }
        let body = try await request.collectBody(upTo: ConsoleApp.maxFormBytes)
        let form = ConsoleForm(encoded: String(buffer: body))
        guard let session = context.session, session.checkCSRF(form["csrf"]) else { return .refused(refusedForm(request)) }
        return .accepted(form)
    }

    func refusedForm(_ request: Request) -> Response {
        let pages = pages(request)
        return html(pages.message(title: pages.text["forbidden.title"], text: pages.text["csrf.refused"], session: nil), status: .forbidden)
    }

    /// What to tell the person when an action was refused: the library's message (it names
    /// the case and what to do), never SQL or values from the server.
    func describe(_ error: any Error, text: ConsoleText) -> String {
        if let error = error as? CaseError { return error.message }
        if let error = error as? PostgresError {
            if error.isInsufficientPrivilege { return text.language == .zh ? "此登录无权执行该操作。" : "Your login may not do this." }
            if error.isConnectionError { return text["error.database"] }
            return text.language == .zh ? "操作未完成（数据库拒绝）：\(error.code)" : "Not done (the database refused): \(error.code)"
        }
        if let error = error as? ConsoleError { return error.message }
        return text.language == .zh ? "操作未完成。" : "Not done."
    }

    func databaseUnavailable(_ request: Request, session: ConsoleSession?) -> Response {
        let pages = pages(request)
        return html(pages.message(title: pages.text["error.title"], text: pages.text["error.database"], session: session), status: .serviceUnavailable)
    }

    /// The answer when a session's connection failed: a server that is down or restarting
    /// is a 503 (the session stays; its connections reconnect by themselves), but a server
    /// that answers and no longer takes the login's password (changed, login disabled or
    /// dropped) ends the session: back to the login form, to log in again.
    func connectionFailed(_ error: PostgresError, _ request: Request, session: ConsoleSession) async -> Response {
        guard error.code == .connectionFailed, await sessions.credentialsRefused(error) else {
            return databaseUnavailable(request, session: session)
        }
        await sessions.logout(session.id)
        var response = redirect("/login?relogin=1")
        response.setCookie(cookie(sessionCookie, "", maxAge: 0))
        return response
    }

    // MARK: Login and logout

    func loginForm(_ request: Request, _ context: ConsoleRequestContext, message: String? = nil, isError: Bool = true,
                   username: String = "", status: HTTPResponse.Status = .ok) -> Response {
        let pages = pages(request)
        let query = request.uri.queryParameters
        var note = message
        if note == nil, query.get("expired") != nil { note = pages.text["login.expired"] }
        if note == nil, query.get("bye") != nil { note = pages.text["login.loggedOut"] }
        if note == nil, query.get("relogin") != nil { note = pages.text["login.relogin"] }
        let token = ConsoleSessions.randomToken()
        let next = Self.safeNext(query.get("next"))
        var response = html(pages.login(csrf: token, message: note, isError: isError && query.get("bye") == nil, username: username, next: next), status: status)
        response.setCookie(cookie(loginCookie, token, maxAge: 3600))
        return response
    }

    func login(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        var request = request
        let text = ConsoleText(language(request))
        let body = try await request.collectBody(upTo: ConsoleApp.maxFormBytes)
        let form = ConsoleForm(encoded: String(buffer: body))
        if foreignOrigin(request) { return refusedForm(request) }
        // The login form's CSRF token is a double-submit: the form's field equals the cookie set with the form.
        guard let expected = request.cookies[loginCookie]?.value, let given = form["csrf"],
              ConsoleSessions.constantTimeEqual(Array(expected.utf8), Array(given.utf8)) else {
            return refusedForm(request)
        }
        let user = form["username"] ?? ""
        let outcome = await sessions.login(user: user, password: form["password"] ?? "", client: clientAddress(request, context))
        switch outcome {
        case .accepted(let session):
            var response = redirect(Self.safeNext(form["next"]))
            response.setCookie(cookie(sessionCookie, session.id, maxAge: Int(sessions.maxLifetime.components.seconds)))
            response.setCookie(cookie(loginCookie, "", maxAge: 0))
            return response
        case .refused:
            return loginForm(request, context, message: text["login.refused"], username: user, status: .unauthorized)
        case .notCaseworker:
            return loginForm(request, context, message: text["login.notCaseworker"], username: user, status: .forbidden)
        case .limited:
            var response = loginForm(request, context, message: text["login.limited"], username: user, status: .tooManyRequests)
            response.headers[.retryAfter] = "60"
            return response
        case .unavailable:
            return loginForm(request, context, message: text["error.database"], username: user, status: .serviceUnavailable)
        }
    }

    func logout(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard case .accepted = try await form(request, context) else { return refusedForm(request) }
        await sessions.logout(context.session?.id)
        var response = redirect("/login?bye=1")
        response.setCookie(cookie(sessionCookie, "", maxAge: 0))
        return response
    }

    func switchLanguage(_ request: Request, _ context: ConsoleRequestContext) -> Response {
        let language = context.parameters.get("language").flatMap(ConsoleLanguage.init(rawValue:)) ?? .zh
        var response = redirect(Self.safeNext(request.uri.queryParameters.get("next")))
        response.setCookie(Cookie(name: Self.languageCookie, value: language.rawValue, maxAge: 365 * 86_400, path: "/",
                                  secure: options.secureCookies, httpOnly: true, sameSite: .lax))
        return response
    }

    // MARK: Pages

    func inbox(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard let session = context.session else { return redirect("/login") }
        let parameters = request.uri.queryParameters
        var query = ConsolePages.InboxQuery(
            state: parameters.get("state").flatMap { ConsoleInbox.states.contains($0) ? $0 : nil },
            taskForce: parameters.get("tf").flatMap { TaskForce(rawValue: $0) }.flatMap { $0 == .triage ? nil : $0 },
            sort: parameters.get("sort").flatMap(InboxSort.init(rawValue:)) ?? .due,
            after: parameters.get("after"),
            size: min(max(parameters.get("size", as: Int.self) ?? 50, 1), 200))
        // An officer of one task force sees their own by default: its index's range, not a
        // filter over every task force (row-level security would hide the others anyway).
        if query.taskForce == nil, parameters.get("tf") == nil, !session.identity.leader, !session.identity.dispatcher,
           session.identity.officerOf.count == 1 {
            query.taskForce = session.identity.officerOf[0]
        }
        do {
            let (inbox, requests) = try await session.pool.withConnection { connection in
                (try await ConsoleInbox.read(state: query.state, taskForce: query.taskForce, sort: query.sort, after: query.after,
                                             limit: query.size, on: connection),
                 session.identity.officerOf.isEmpty ? [] : try await CaseworkInbox.requests(limit: 50, on: connection))
            }
            return html(pages(request).inbox(session: session, inbox: inbox, requests: requests, query: query, now: Date(), flash: session.takeFlash()))
        } catch let error as PostgresError where error.isDataError && query.after != nil {
            // A cursor edited by hand (not a time): the first page instead of a 500.
            return redirect(query.path(after: nil))
        } catch let error as PostgresError where error.isConnectionError {
            return await connectionFailed(error, request, session: session)
        }
    }

    func casePage(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard let session = context.session else { return redirect("/login") }
        let pages = pages(request)
        guard let id = context.parameters.get("id", as: Int64.self) else {
            return html(pages.message(title: pages.text["error.title"], text: pages.text["case.notFound"], session: session), status: .notFound)
        }
        do {
            let found = try await session.pool.withConnection { connection -> (CaseRecord, String?)? in
                guard let record = try await CaseOperations.record(id, on: connection) else { return nil }
                let draft = record.state == .working && session.identity.officerOf.contains(record.taskForce)
                    ? CaseDraft.answer(for: record, advisor: options.advisor) : nil
                return (record, draft)
            }
            // Row-level security hid it (or there is none): nothing of the case in the answer.
            guard let (record, draft) = found else {
                return html(pages.message(title: pages.text["error.title"], text: pages.text["case.notFound"], session: session), status: .notFound)
            }
            return html(pages.casePage(session: session, record: record, draft: draft, now: Date(), flash: session.takeFlash()))
        } catch let error as PostgresError where error.isConnectionError {
            return await connectionFailed(error, request, session: session)
        }
    }

    func caseAction(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard let session = context.session else { return redirect("/login") }
        let form: ConsoleForm
        switch try await self.form(request, context) {
        case .accepted(let parsed): form = parsed
        case .refused(let refusal): return refusal
        }
        let text = ConsoleText(language(request))
        guard let id = context.parameters.get("id", as: Int64.self), let action = context.parameters.get("action") else {
            return redirect("/")
        }
        let casework = self.casework
        var back = "/cases/\(id)"
        do {
            let result: CaseworkResult = try await session.pool.withConnection { connection in
                switch action {
                case "sign-off":
                    return try await casework.signOff(id, on: connection)
                case "suspend":
                    let until = try Self.parseTime(form["until"] ?? "", timeZone: options.calendar.timeZone)
                    return try await casework.suspend(id, until: until, reason: form["reason"] ?? "", on: connection)
                case "resume":
                    return try await casework.resume(id, on: connection)
                case "return":
                    return try await casework.returnToTriage(id, reason: form["reason"] ?? "", on: connection)
                case "cohandle":
                    let partners = try form.all("with").map { try TaskForce(parsing: $0) }
                    return try await casework.requestCohandling(id, partners: partners, question: form["question"] ?? "", on: connection)
                case "cohandle-reply":
                    return try await casework.replyCohandling(id, as: try TaskForce(parsing: form["as"] ?? ""), reply: form["text"] ?? "",
                                                              on: connection)
                case "answer":
                    return try await casework.answer(id, text: form["text"] ?? "", drafted: form["drafted"] == "1", on: connection)
                case "callback":
                    return try await casework.recordCallback(id, satisfaction: try Satisfaction(parsing: form["satisfaction"] ?? ""),
                                                             note: form.trimmed("note"), on: connection)
                case "supervise":
                    return try await casework.supervise(id, note: form["note"] ?? "", on: connection)
                case "chase":
                    return try await casework.chase(id, note: form["note"] ?? "", on: connection)
                default:
                    throw ConsoleError(code: .invalidOption, message: "no such action: \(action)")
                }
            }
            session.setFlash(text["action.done"] + result.message)
            // A case returned to triage leaves an officer's sight: back to the inbox.
            if action == "return", !session.identity.dispatcher, !session.identity.leader { back = "/" }
        } catch let error as PostgresError where error.code == .connectionFailed {
            return await connectionFailed(error, request, session: session)
        } catch {
            session.setFlash(describe(error, text: text), isError: true)
        }
        return redirect(back)
    }

    func triage(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard let session = context.session else { return redirect("/login") }
        let pages = pages(request)
        guard session.identity.dispatcher else {
            return html(pages.message(title: pages.text["forbidden.title"], text: pages.text["triage.notOperator"], session: session), status: .forbidden)
        }
        do {
            let classifier = options.classifier
            let entries = try await session.pool.withConnection { try await TriageDesk.entries(limit: 100, classifier: classifier, on: $0) }
            return html(pages.triage(session: session, entries: entries, flash: session.takeFlash()))
        } catch let error as PostgresError where error.isConnectionError {
            return await connectionFailed(error, request, session: session)
        }
    }

    func assign(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard let session = context.session else { return redirect("/login") }
        let form: ConsoleForm
        switch try await self.form(request, context) {
        case .accepted(let parsed): form = parsed
        case .refused(let refusal): return refusal
        }
        let text = ConsoleText(language(request))
        guard let id = context.parameters.get("id", as: Int64.self) else { return redirect("/triage") }
        let lifecycle = CaseLifecycle(policy: options.policy, calendar: options.calendar)
        do {
            let target = try TaskForce(parsing: form["to"] ?? "")
            _ = try await session.pool.withConnection { connection in
                // The reroute keeps the correction for `dispatcher train --with-corrections`.
                try await lifecycle.reroute(id, to: target, reason: "assigned from triage (console)", actor: session.identity.login, on: connection)
            }
            session.setFlash(text["action.done"] + "#\(id) → \(text.taskForce(target.rawValue))")
        } catch let error as PostgresError where error.code == .connectionFailed {
            return await connectionFailed(error, request, session: session)
        } catch {
            session.setFlash(describe(error, text: text), isError: true)
        }
        return redirect("/triage")
    }

    func leader(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard let session = context.session else { return redirect("/login") }
        let pages = pages(request)
        guard session.identity.leader else {
            return html(pages.message(title: pages.text["forbidden.title"], text: pages.text["leader.notLeader"], session: session), status: .forbidden)
        }
        do {
            let view = try await session.pool.withConnection { try await ConsoleLeaderView.read(on: $0) }
            return html(pages.leader(session: session, view: view, now: Date(), flash: session.takeFlash()))
        } catch let error as PostgresError where error.isConnectionError {
            return await connectionFailed(error, request, session: session)
        }
    }

    // MARK: Input

    /// A resumption time: a duration from now (`90m`, `8h`, `2d`), an ISO 8601 time, or the
    /// `YYYY-MM-DDTHH:MM` of a `datetime-local` field in the calendar's time zone.
    static func parseTime(_ text: String, timeZone: TimeZone, now: Date = Date()) throws -> Date {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let unit = text.last, let value = Double(text.dropLast()), value > 0 {
            switch unit {
            case "m": return now.addingTimeInterval(value * 60)
            case "h": return now.addingTimeInterval(value * 3600)
            case "d": return now.addingTimeInterval(value * 86_400)
            default: break
            }
        }
        let iso = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            iso.formatOptions = options
            if let date = iso.date(from: text) { return date }
        }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = timeZone
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm"] {
            local.dateFormat = format
            if let date = local.date(from: text) { return date }
        }
        throw CaseError.invalidInput("\"\(text)\" is neither a duration (90m, 8h, 2d) nor a time (2026-12-03T09:00)", field: "until")
    }
}
