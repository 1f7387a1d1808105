import CaseLedger
import Console
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresClient
import PostgresTestSupport
import TaskForces
import Testing

enum Shared {
    static let normalizer = try! TextNormalizer()
    static let policy = try! TimeLimitPolicy.bundledDefault()
    static let calendar = try! WorkCalendar.bundledDefault()
    static let classifier = RoutingClassifier(model: try! RoutingModel.bundled(), normalizer: normalizer)
    static let intake = CaseIntake(classifier: classifier, policy: policy, calendar: calendar)
    static let lifecycle = CaseLifecycle(policy: policy, calendar: calendar)
    static let options = ConsoleApp.Options(
        policy: policy, calendar: calendar, classifier: classifier,
        advisor: CaseAdvisor(catalogue: try! MeasuresCatalogue.bundled(), escalationTerms: try! EscalationTerms.bundled(), classifier: classifier))
}

/// A database with a tax case and a legal case held for people (escalated to the top), a
/// case in triage, and logins: a tax officer, a legal officer, an operator, a leader, a worker.
struct Centre {
    let database: PostgresConfiguration
    let owner: PostgresConnection
    let taxCase: Int64
    let legalCase: Int64
    let triageCase: Int64
    let taxOfficer: TestDatabase.Login
    let legalOfficer: TestDatabase.Login
    let operatorLogin: TestDatabase.Login
    let leader: TestDatabase.Login
    let worker: TestDatabase.Login

    static func make(_ label: String) async throws -> Centre {
        let database = try await TestDatabase.create(label)
        let owner = try await PostgresConnection.connect(database)
        let prepared = try [
            CaseInput(text: "留抵退税三个月没到账，金额较大", enterprise: "甲公司", taskForce: .tax),
            CaseInput(text: "合同纠纷起诉，对方拖欠货款，秘密条款XYZZY", enterprise: "乙公司", taskForce: .legal),
            CaseInput(text: "留抵退税一直没有到账", taskForce: .triage),
        ].map { try Shared.intake.prepare($0) }
        let outcomes = try await owner.transaction { try await Shared.intake.store(prepared, on: $0) }
        for outcome in outcomes.prefix(2) {
            try await owner.transaction { tx in
                var events = LedgerBatch(actor: "deadline-enforcer")
                for _ in 0..<2 {
                    try await Shared.lifecycle.escalate(outcome.caseID, fromJob: nil, reason: "nobody solved it", events: &events, on: tx)
                }
                try await events.write(on: tx)
            }
        }
        return Centre(
            database: database, owner: owner, taxCase: outcomes[0].caseID, legalCase: outcomes[1].caseID, triageCase: outcomes[2].caseID,
            taxOfficer: try await TestDatabase.login(["taskforce_officer_tax"], on: database),
            legalOfficer: try await TestDatabase.login(["taskforce_officer_legal"], on: database),
            operatorLogin: try await TestDatabase.login(["taskforce_dispatcher"], on: database),
            leader: try await TestDatabase.login(["taskforce_leader"], on: database),
            worker: try await TestDatabase.login(["taskforce_worker_tax"], on: database))
    }

    func state(_ id: Int64) async throws -> String {
        try await owner.query("SELECT state::text FROM cases WHERE id = $1", id).firstRow().decode(0)
    }

    /// Backends open as `login` (the console's per-user connections).
    func backends(of login: String) async throws -> Int {
        try await owner.query("SELECT count(*)::int FROM pg_stat_activity WHERE usename = $1", login).firstRow().decode(0)
    }
}

/// A browser's cookie jar, as far as these tests need one.
final class Browser: @unchecked Sendable {
    var cookies: [String: String] = [:]

    var header: HTTPFields {
        guard !cookies.isEmpty else { return [:] }
        return [.cookie: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }

    func take(_ response: TestResponse) {
        for field in response.headers where field.name == .setCookie {
            let pair = field.value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || field.value.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    static func field(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func form(_ fields: [String: String]) -> ByteBuffer {
        ByteBuffer(string: fields.map { "\($0.key)=\(HTML.query($0.value))" }.joined(separator: "&"))
    }
}

extension TestClientProtocol {
    /// Logs in through the form; returns the response of the POST.
    @discardableResult
    func logIn(_ browser: Browser, _ login: TestDatabase.Login, password: String? = nil) async throws -> TestResponse {
        let form = try await execute(uri: "/login", method: .get, headers: browser.header)
        browser.take(form)
        let csrf = Browser.field("csrf", in: String(buffer: form.body)) ?? ""
        var headers = browser.header
        headers[.contentType] = "application/x-www-form-urlencoded"
        let response = try await execute(uri: "/login", method: .post, headers: headers,
                                         body: Browser.form(["username": login.name, "password": password ?? login.password, "csrf": csrf]))
        browser.take(response)
        return response
    }

    func get(_ browser: Browser, _ uri: String) async throws -> TestResponse {
        let response = try await execute(uri: uri, method: .get, headers: browser.header)
        browser.take(response)
        return response
    }

    /// Posts a form with the CSRF token of the page at `page` (or `csrf`, when given).
    func post(_ browser: Browser, _ uri: String, _ fields: [String: String], tokenFrom page: String, csrf: String? = nil) async throws -> TestResponse {
        var fields = fields
        if let csrf { fields["csrf"] = csrf } else if csrf == nil, fields["csrf"] == nil {
            let html = String(buffer: try await get(browser, page).body)
            fields["csrf"] = Browser.field("csrf", in: html) ?? ""
        }
        var headers = browser.header
        headers[.contentType] = "application/x-www-form-urlencoded"
        let response = try await execute(uri: uri, method: .post, headers: headers, body: Browser.form(fields))
        browser.take(response)
        return response
    }
}

func console(_ centre: Centre, sessions: ConsoleSessions? = nil) -> (Application<RouterResponder<ConsoleRequestContext>>, ConsoleSessions) {
    let sessions = sessions ?? ConsoleSessions(server: centre.database)
    return (Application(router: ConsoleApp.router(sessions: sessions, options: Shared.options)), sessions)
}

@Suite("Casework console: sessions, CSRF, row-level security, per-user connections")
struct ConsoleTests {
    @Test("without a session: a page redirects to /login, a form post gets 401, and nothing is done")
    func loginRequired() async throws {
        let centre = try await Centre.make("console_nologin")
        let (app, _) = console(centre)
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/cases/\(centre.taxCase)", method: .get)
            #expect(page.status == .seeOther)
            #expect(page.headers[.location]?.hasPrefix("/login?next=") == true)
            let post = try await client.execute(uri: "/cases/\(centre.taxCase)/sign-off", method: .post,
                                                headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "csrf=x"))
            #expect(post.status == .unauthorized)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
        #expect(try await centre.state(centre.taxCase) == "signoff")
    }

    @Test("login as the officer's own database login: an HttpOnly, SameSite=Strict session cookie; the inbox shows its task force only")
    func loginShowsOwnTaskForce() async throws {
        let centre = try await Centre.make("console_login")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            let response = try await client.logIn(browser, centre.taxOfficer)
            #expect(response.status == .seeOther)
            let cookie = response.headers[values: .setCookie].first { $0.hasPrefix("console_session=") } ?? ""
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            let id = String(cookie.dropFirst("console_session=".count).prefix { $0 != ";" })
            #expect(id.count >= 43) // 256 bits, base64url
            let inbox = String(buffer: try await client.get(browser, "/").body)
            #expect(inbox.contains("data-case-id=\"\(centre.taxCase)\""))
            #expect(!inbox.contains("data-case-id=\"\(centre.legalCase)\""))
            #expect(inbox.contains("data-clock=\"signoff\""))
            #expect(inbox.contains("data-clock=\"solution\""))
        }
        #expect(sessions.count == 1)
        await sessions.closeAll()
    }

    @Test("a wrong password is refused (401) and counted; past the limit further tries are refused outright (429)")
    func failedLoginsAreLimited() async throws {
        let centre = try await Centre.make("console_limit")
        let (app, sessions) = console(centre, sessions: ConsoleSessions(server: centre.database, failureLimit: 3))
        try await app.test(.router) { client in
            for _ in 0..<3 {
                let response = try await client.logIn(Browser(), centre.taxOfficer, password: "wrong")
                #expect(response.status == .unauthorized)
            }
            // The right password, but too many failures just now: refused without asking the database.
            let limited = try await client.logIn(Browser(), centre.taxOfficer)
            #expect(limited.status == .tooManyRequests)
        }
        #expect(sessions.count == 0)
    }

    @Test("a login without a casework role (a department's worker) is refused")
    func workerLoginRefused() async throws {
        let centre = try await Centre.make("console_worker")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let refused = try await client.logIn(Browser(), centre.worker)
            #expect(refused.status == .forbidden)
        }
        #expect(sessions.count == 0)
        for _ in 0..<50 where try await centre.backends(of: centre.worker.name) > 0 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try await centre.backends(of: centre.worker.name) == 0)
    }

    @Test("the login form and every action form are refused without the CSRF token, and nothing changes")
    func csrfRequired() async throws {
        let centre = try await Centre.make("console_csrf")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            // The login form without its token.
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let forged = try await client.execute(uri: "/login", method: .post, headers: headers,
                                                  body: Browser.form(["username": centre.taxOfficer.name, "password": centre.taxOfficer.password]))
            #expect(forged.status == .forbidden)
            #expect(sessions.count == 0)
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            headers = browser.header
            headers[.contentType] = "application/x-www-form-urlencoded"
            let missing = try await client.execute(uri: "/cases/\(centre.taxCase)/sign-off", method: .post, headers: headers, body: ByteBuffer(string: ""))
            #expect(missing.status == .forbidden)
            let wrong = try await client.post(browser, "/cases/\(centre.taxCase)/sign-off", [:], tokenFrom: "/", csrf: "not-the-token")
            #expect(wrong.status == .forbidden)
            // Another origin, even with the token.
            let page = String(buffer: try await client.get(browser, "/").body)
            var crossSite = browser.header
            crossSite[.contentType] = "application/x-www-form-urlencoded"
            crossSite[.origin] = "http://evil.example"
            let cross = try await client.execute(uri: "/cases/\(centre.taxCase)/sign-off", method: .post, headers: crossSite,
                                                 body: Browser.form(["csrf": Browser.field("csrf", in: page) ?? ""]))
            #expect(cross.status == .forbidden)
        }
        #expect(try await centre.state(centre.taxCase) == "signoff")
        await sessions.closeAll()
    }

    @Test("row-level security decides: another task force's case is 404 with nothing of it in the body; one's own is 200")
    func otherTaskForceCannotOpenByURL() async throws {
        let centre = try await Centre.make("console_rls")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            let own = try await client.get(browser, "/cases/\(centre.taxCase)")
            #expect(own.status == .ok)
            #expect(String(buffer: own.body).contains("留抵退税三个月没到账"))
            let other = try await client.get(browser, "/cases/\(centre.legalCase)")
            #expect(other.status == .notFound)
            let body = String(buffer: other.body)
            #expect(!body.contains("XYZZY"))
            #expect(!body.contains("乙公司"))
            #expect(!body.contains("合同纠纷"))
            // Nor can it act on it.
            let signOff = try await client.post(browser, "/cases/\(centre.legalCase)/sign-off", [:], tokenFrom: "/")
            #expect(signOff.status == .seeOther)
        }
        #expect(try await centre.state(centre.legalCase) == "signoff")
        await sessions.closeAll()
    }

    @Test("actions run on the person's own connections: every event is written by the officer's login; logout closes them")
    func perUserConnections() async throws {
        let centre = try await Centre.make("console_conn")
        let (app, sessions) = console(centre)
        let officer = centre.taxOfficer.name
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            let page = "/cases/\(centre.taxCase)"
            #expect(try await client.post(browser, "\(page)/sign-off", [:], tokenFrom: page).status == .seeOther)
            #expect(try await client.post(browser, "\(page)/suspend", ["until": "2d", "reason": "等待企业补充材料"], tokenFrom: page).status == .seeOther)
            #expect(try await centre.state(centre.taxCase) == "suspended")
            #expect(try await client.post(browser, "\(page)/resume", [:], tokenFrom: page).status == .seeOther)
            let working = String(buffer: try await client.get(browser, page).body)
            #expect(working.contains("id=\"answer-text\""))
            #expect(try await client.post(browser, "\(page)/answer", ["text": "您好，退税已到账。", "drafted": "1"], tokenFrom: page).status == .seeOther)
            #expect(try await centre.state(centre.taxCase) == "answered")
            #expect(try await centre.backends(of: officer) >= 1)
            let events = try await centre.owner.query(
                "SELECT type, actor, login::text FROM case_events WHERE case_id = $1 AND type IN ('signed_off', 'suspended', 'resumed', 'answered') ORDER BY id",
                centre.taxCase).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)) }
            #expect(events.map(\.0) == ["signed_off", "suspended", "resumed", "answered"])
            #expect(events.allSatisfy { $0.1 == officer && $0.2 == officer })
            // Logout ends the session and closes the login's connections.
            #expect(try await client.post(browser, "/logout", [:], tokenFrom: "/").status == .seeOther)
            let after = try await client.get(browser, "/")
            #expect(after.status == .seeOther)
        }
        #expect(sessions.count == 0)
        for _ in 0..<50 where try await centre.backends(of: officer) > 0 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try await centre.backends(of: officer) == 0)
    }

    @Test("an idle session expires: the cookie no longer works and the connections are closed")
    func sessionsExpire() async throws {
        let centre = try await Centre.make("console_expiry")
        let sessions = ConsoleSessions(server: centre.database, idleTimeout: .milliseconds(500))
        let (app, _) = console(centre, sessions: sessions)
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            #expect(try await client.get(browser, "/").status == .ok)
            try await Task.sleep(for: .milliseconds(700))
            #expect(await sessions.expire() == 1)
            let expired = try await client.get(browser, "/")
            #expect(expired.status == .seeOther)
        }
        for _ in 0..<50 where try await centre.backends(of: centre.taxOfficer.name) > 0 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try await centre.backends(of: centre.taxOfficer.name) == 0)
    }

    @Test("an operator assigns from the triage desk (top-3 suggestions shown); the correction is kept for training")
    func triageAssign() async throws {
        let centre = try await Centre.make("console_triage")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.operatorLogin)
            let desk = String(buffer: try await client.get(browser, "/triage").body)
            #expect(desk.contains("data-case-id=\"\(centre.triageCase)\""))
            #expect(desk.components(separatedBy: "data-to=").count - 1 == 3)
            #expect(try await client.post(browser, "/triage/\(centre.triageCase)/assign", ["to": "tax"], tokenFrom: "/triage").status == .seeOther)
            // An officer has no triage desk.
            let officer = Browser()
            try await client.logIn(officer, centre.taxOfficer)
            #expect(try await client.get(officer, "/triage").status == .forbidden)
        }
        #expect(try await centre.state(centre.triageCase) == "open")
        let corrections = try await centre.owner.query("SELECT to_task_force FROM routing_corrections WHERE case_id = $1", centre.triageCase)
        #expect(try corrections.map { try $0.decode(0, as: String.self) } == ["tax"])
        await sessions.closeAll()
    }

    @Test("a leader sees a breached clock across task forces and this month's rates; supervising is counted")
    func leaderSeesBreaches() async throws {
        let centre = try await Centre.make("console_leader")
        try await centre.owner.query("UPDATE cases SET due_at = now() - interval '2 hours', signoff_due_at = now() - interval '3 hours' WHERE id = $1",
                                     centre.legalCase)
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.leader)
            let view = String(buffer: try await client.get(browser, "/leader").body)
            #expect(view.contains("data-case-id=\"\(centre.legalCase)\""))
            #expect(view.contains("data-status=\"breached\""))
            let page = "/cases/\(centre.legalCase)"
            #expect(try await client.post(browser, "\(page)/supervise", ["note": "请今日办结"], tokenFrom: page).status == .seeOther)
            // An officer has no leader view.
            let officer = Browser()
            try await client.logIn(officer, centre.taxOfficer)
            #expect(try await client.get(officer, "/leader").status == .forbidden)
        }
        let supervised = try await centre.owner.query("SELECT supervised_count FROM cases WHERE id = $1", centre.legalCase).firstRow().decode(0, as: Int.self)
        #expect(supervised == 1)
        await sessions.closeAll()
    }

    @Test("the inbox pages with a keyset cursor: every case once, in order, across pages")
    func inboxPages() async throws {
        let centre = try await Centre.make("console_pages")
        // 25 more tax cases held for people.
        try await centre.owner.query("""
            INSERT INTO cases (text, task_force, state, escalation_level, due_at, signoff_due_at, language, routing_source, channel)
            SELECT 'case ' || g, 'tax', 'signoff', 2, now() + g * interval '1 hour', now() + interval '4 hours', 'zh-Hans', 'manual', 'hotline'
            FROM generate_series(1, 25) g
            """)
        let login = try await PostgresConnection.connect(centre.taxOfficer.configuration)
        var seen: [Int64] = []
        var after: String?
        repeat {
            let page = try await ConsoleInbox.read(state: nil, taskForce: .tax, sort: .due, after: after, limit: 10, on: login)
            seen += page.rows.map(\.id)
            after = page.next
        } while after != nil
        #expect(seen.count == 26)
        #expect(Set(seen).count == 26)
        let newest = try await ConsoleInbox.read(state: "signoff", taskForce: nil, sort: .newest, after: nil, limit: 5, on: login)
        #expect(newest.rows.count == 5)
        #expect(newest.rows.map(\.receivedAt) == newest.rows.map(\.receivedAt).sorted(by: >))
        await login.close()
    }

    @Test("plain HTTP is refused on a non-loopback address unless TLS or --allow-plain-http")
    func plainHTTPRefused() throws {
        #expect(throws: ConsoleError.self) { try ConsoleApp.checkTransport(host: "0.0.0.0", tls: false, allowPlainHTTP: false) }
        #expect(throws: ConsoleError.self) { try ConsoleApp.checkTransport(host: "10.1.2.3", tls: false, allowPlainHTTP: false) }
        try ConsoleApp.checkTransport(host: "127.0.0.1", tls: false, allowPlainHTTP: false)
        try ConsoleApp.checkTransport(host: "::1", tls: false, allowPlainHTTP: false)
        try ConsoleApp.checkTransport(host: "0.0.0.0", tls: true, allowPlainHTTP: false)
        try ConsoleApp.checkTransport(host: "0.0.0.0", tls: false, allowPlainHTTP: true)
        #expect(try ConsoleApp.parseListen("[::1]:8081") == ("::1", 8081))
    }
}
