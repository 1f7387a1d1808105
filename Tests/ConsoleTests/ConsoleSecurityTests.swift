import CaseLedger
import Console
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresClient
import PostgresTestSupport
import TaskForces
import Testing

/// The review's findings, each as the behaviour it asks for.
@Suite("Casework console: escaping, headers, origins, redirects, login limits, dead connections")
struct ConsoleSecurityTests {
    /// A quote and a combining mark: one `Character` in Swift, a quote to the browser. (Kept
    /// out of `#expect`, whose expansion of such a literal does not compile.)
    static let quoteMark = "\"\u{301}"
    static let hostile = "<script>alert(\"x\")</script>\"\u{301} autofocus onfocus=alert(1) x=\"'"

    @Test("HTML escaping is per Unicode scalar: a quote followed by a combining mark is still escaped")
    func escapeByScalar() {
        let quoted = HTML.escape("a" + Self.quoteMark + "b")
        #expect(quoted == "a&quot;\u{301}b")
        #expect(HTML.escape("<\u{301}>\u{301}&\u{301}'\u{301}") == "&lt;\u{301}&gt;\u{301}&amp;\u{301}&#39;\u{301}")
        #expect(HTML.escape("留抵退税 <b>") == "留抵退税 &lt;b&gt;")
    }

    @Test("a case text, enterprise and ledger reason with <script> and quotes are shown as text, never as markup")
    func caseValuesEscaped() async throws {
        let centre = try await Centre.make("console_escape")
        try await centre.owner.query("UPDATE cases SET text = $1, enterprise = $2 WHERE id = $3", Self.hostile, Self.hostile, centre.taxCase)
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            let page = "/cases/\(centre.taxCase)"
            func expectEscaped(_ browser: Browser, _ uri: String) async throws {
                let response = try await client.get(browser, uri)
                #expect(response.status == .ok, "\(uri)")
                let body = String(buffer: response.body)
                #expect(body.contains("&lt;script&gt;alert(&quot;x&quot;)"), "\(uri)")
                #expect(!body.contains("<script>alert"), "\(uri)")
                #expect(!body.contains(Self.quoteMark), "\(uri)")
                #expect(!body.contains("onfocus=alert(1) x=\"'"), "\(uri)")
            }
            try await expectEscaped(browser, page)
            try await expectEscaped(browser, "/")
            // The reason goes into the ledger; an operator sees it on the timeline and the case on the triage desk.
            #expect(try await client.post(browser, "\(page)/return", ["reason": Self.hostile], tokenFrom: page).status == .seeOther)
            #expect(try await centre.state(centre.taxCase) == "triage")
            let operatorBrowser = Browser()
            try await client.logIn(operatorBrowser, centre.operatorLogin)
            try await expectEscaped(operatorBrowser, page)
            try await expectEscaped(operatorBrowser, "/triage")
            let timeline = String(buffer: try await client.get(operatorBrowser, page).body)
            #expect(timeline.components(separatedBy: "&lt;script&gt;alert(&quot;x&quot;)").count - 1 >= 3) // text, enterprise, reason
        }
        await sessions.closeAll()
    }

    @Test("the login form echoes a username as text only, even one that tries to end its attribute")
    func loginEchoEscaped() async throws {
        let centre = try await Centre.make("console_echo")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            let form = try await client.execute(uri: "/login", method: .get)
            browser.take(form)
            var headers = browser.header
            headers[.contentType] = "application/x-www-form-urlencoded"
            let csrf = Browser.field("csrf", in: String(buffer: form.body)) ?? ""
            let refused = try await client.execute(uri: "/login", method: .post, headers: headers,
                                                   body: Browser.form(["username": Self.hostile, "password": "x", "csrf": csrf]))
            #expect(refused.status == .unauthorized)
            let body = String(buffer: refused.body)
            #expect(!body.contains(Self.quoteMark))
            #expect(!body.contains("<script>alert"))
        }
        #expect(sessions.count == 0)
    }

    @Test("pages with case data: CSP without inline script, no framing, no-store; the 404 of a hidden case too")
    func securityHeaders() async throws {
        let centre = try await Centre.make("console_headers")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            for (uri, status) in [("/cases/\(centre.taxCase)", HTTPResponse.Status.ok), ("/cases/\(centre.legalCase)", .notFound), ("/", .ok)] {
                let response = try await client.get(browser, uri)
                #expect(response.status == status, "\(uri)")
                let csp = response.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"))
                #expect(!csp.contains("unsafe-inline"))
                #expect(response.headers[.init("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
        }
        await sessions.closeAll()
    }

    @Test("a form from another origin is refused even with the token: another port of the same host is another origin; the login form too")
    func originIsHostAndPort() async throws {
        let centre = try await Centre.make("console_origin")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            // The login form from another port of this host (the test client's Host is "localhost").
            let loginPage = try await client.execute(uri: "/login", method: .get)
            let stranger = Browser()
            stranger.take(loginPage)
            var headers = stranger.header
            headers[.contentType] = "application/x-www-form-urlencoded"
            headers[.origin] = "http://localhost:9999"
            let crossLogin = try await client.execute(uri: "/login", method: .post, headers: headers, body: Browser.form(
                ["username": centre.taxOfficer.name, "password": centre.taxOfficer.password,
                 "csrf": Browser.field("csrf", in: String(buffer: loginPage.body)) ?? ""]))
            #expect(crossLogin.status == .forbidden)
            #expect(sessions.count == 0)

            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            let page = "/cases/\(centre.taxCase)"
            let csrf = Browser.field("csrf", in: String(buffer: try await client.get(browser, page).body)) ?? ""
            func signOff(origin: String) async throws -> HTTPResponse.Status {
                var headers = browser.header
                headers[.contentType] = "application/x-www-form-urlencoded"
                headers[.origin] = origin
                return try await client.execute(uri: "\(page)/sign-off", method: .post, headers: headers, body: Browser.form(["csrf": csrf])).status
            }
            #expect(try await signOff(origin: "http://localhost:9999") == .forbidden)
            #expect(try await signOff(origin: "http://localhost.evil.example") == .forbidden)
            #expect(try await centre.state(centre.taxCase) == "signoff")
            #expect(try await signOff(origin: "http://localhost") == .seeOther)
            #expect(try await centre.state(centre.taxCase) == "working")
        }
        await sessions.closeAll()
    }

    @Test("after login the browser goes to a local path only: a tab or backslash that browsers drop or turn into // goes to /")
    func nextIsLocal() async throws {
        let centre = try await Centre.make("console_next")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            for (next, expected) in [("/\t/evil.example", "/"), ("/\\evil.example", "/"), ("//evil.example", "/"), ("https://evil.example", "/"),
                                     ("/cases/\(centre.taxCase)?x=1", "/cases/\(centre.taxCase)?x=1")] {
                let browser = Browser()
                let form = try await client.execute(uri: "/login", method: .get)
                browser.take(form)
                var headers = browser.header
                headers[.contentType] = "application/x-www-form-urlencoded"
                let response = try await client.execute(uri: "/login", method: .post, headers: headers, body: Browser.form(
                    ["username": centre.taxOfficer.name, "password": centre.taxOfficer.password, "next": next,
                     "csrf": Browser.field("csrf", in: String(buffer: form.body)) ?? ""]))
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == expected, "next \(next.debugDescription)")
            }
        }
        await sessions.closeAll()
    }

    @Test("failures of one login spread over many clients are limited too, with a higher limit than per client")
    func perLoginLimitOverClients() async throws {
        let centre = try await Centre.make("console_spread")
        let sessions = ConsoleSessions(server: centre.database, failureLimit: 2, loginFailureLimit: 4)
        for n in 0..<4 {
            guard case .refused = await sessions.login(user: centre.taxOfficer.name, password: "wrong", client: "192.0.2.\(n)") else {
                Issue.record("try \(n) was not refused")
                continue
            }
        }
        // The right password from a fifth address: the login's own limit holds.
        guard case .limited = await sessions.login(user: centre.taxOfficer.name, password: centre.taxOfficer.password, client: "192.0.2.99") else {
            Issue.record("the fifth address was not limited")
            return
        }
        // Another login from that address is not affected.
        guard case .accepted = await sessions.login(user: centre.legalOfficer.name, password: centre.legalOfficer.password, client: "192.0.2.99") else {
            Issue.record("another login was limited")
            return
        }
        await sessions.closeAll()
    }

    @Test("the failure table stays bounded under a flood of names and addresses, and the newest limits survive it")
    func failureTableBounded() async throws {
        let centre = try await Centre.make("console_flood")
        let sessions = ConsoleSessions(server: centre.database, failureLimit: 2)
        let long = String(repeating: "x", count: 5_000)
        func flood(_ range: Range<Int>) async {
            for n in range { _ = await sessions.login(user: String(n) + long, password: "x", client: "flood-\(n)") }
        }
        await flood(0..<4_000)
        // An address that just failed twice (names too long to be logins: refused without the database).
        for n in 0..<2 { _ = await sessions.login(user: "target\(n)" + long, password: "x", client: "198.51.100.7") }
        await flood(4_000..<6_000)
        #expect(sessions.failureRecords <= 10_000)
        guard case .limited = await sessions.login(user: centre.taxOfficer.name, password: centre.taxOfficer.password, client: "198.51.100.7") else {
            Issue.record("the flood lifted the address's limit")
            return
        }
    }

    @Test("a server that does not answer is 503 at login and counts no failure")
    func loginWhileDatabaseDown() async throws {
        let centre = try await Centre.make("console_down")
        let nowhere = PostgresConfiguration(connectionString: "host=/nonexistent-console-review dbname=none")
        let sessions = ConsoleSessions(server: nowhere, failureLimit: 1)
        let (app, _) = console(centre, sessions: sessions)
        try await app.test(.router) { client in
            for _ in 0..<3 {
                let response = try await client.logIn(Browser(), centre.taxOfficer)
                #expect(response.status == .serviceUnavailable)
            }
        }
        #expect(sessions.count == 0)
    }

    @Test("a dead connection reconnects by itself; a login whose password changed is sent back to /login and its session ends")
    func passwordChangedEndsSession() async throws {
        let centre = try await Centre.make("console_repass")
        let (app, sessions) = console(centre)
        let officer = centre.taxOfficer.name
        @Sendable func terminate() async throws {
            try await centre.owner.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", officer)
            for _ in 0..<50 where try await centre.backends(of: officer) > 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            #expect(try await client.get(browser, "/").status == .ok)
            // The backend dies (as in a server restart): the next page reconnects with the session's password.
            try await terminate()
            #expect(try await client.get(browser, "/").status == .ok)
            // The administrator changes the password and cuts the old backends off.
            let verifier = try await centre.owner.encryptPassword("a-new-password-\(UInt32.random(in: 0...UInt32.max))", user: officer)
            try await centre.owner.executeScript("ALTER ROLE \(try await centre.owner.escapeIdentifier(officer)) PASSWORD \(try await centre.owner.escapeLiteral(verifier))")
            try await terminate()
            let page = try await client.get(browser, "/cases/\(centre.taxCase)")
            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/login?relogin=1")
            #expect(!String(buffer: page.body).contains("留抵退税"))
            #expect(sessions.count == 0)
            // The session's cookie is gone; the login form says why.
            #expect(try await client.get(browser, "/").headers[.location]?.hasPrefix("/login") == true)
            #expect(String(buffer: try await client.get(browser, "/login?relogin=1").body).contains("id=\"flash\""))
        }
    }

    @Test("loopback means 127.0.0.0/8, ::1 or localhost, not a name that starts with 127.")
    func loopbackAddresses() throws {
        #expect(ConsoleApp.isLoopback("127.0.0.1"))
        #expect(ConsoleApp.isLoopback("127.1.2.3"))
        #expect(ConsoleApp.isLoopback("::1"))
        #expect(ConsoleApp.isLoopback("localhost"))
        #expect(!ConsoleApp.isLoopback("127.example.com"))
        #expect(!ConsoleApp.isLoopback("0.0.0.0"))
        #expect(!ConsoleApp.isLoopback("::"))
        #expect(throws: ConsoleError.self) { try ConsoleApp.checkTransport(host: "127.example.com", tls: false, allowPlainHTTP: false) }
    }

    @Test("a hand-edited inbox cursor that is not a time goes to the first page, not a 500")
    func badCursor() async throws {
        let centre = try await Centre.make("console_cursor")
        let (app, sessions) = console(centre)
        try await app.test(.router) { client in
            let browser = Browser()
            try await client.logIn(browser, centre.taxOfficer)
            let response = try await client.get(browser, "/?after=not-a-time~5")
            #expect(response.status == .seeOther)
            #expect(response.headers[.location]?.contains("after") == false)
        }
        await sessions.closeAll()
    }
}
