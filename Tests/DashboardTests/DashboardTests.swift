import CaseLedger
import Dashboard
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresClient
import PostgresTestSupport
import TaskForces
import Testing

enum Shared {
    static let intake = CaseIntake(
        classifier: RoutingClassifier(model: try! RoutingModel.bundled(), normalizer: try! TextNormalizer()),
        policy: try! TimeLimitPolicy.bundledDefault(), calendar: try! WorkCalendar.bundledDefault())
}

/// A database with a few cases: some resolved, one escalated, one overdue, one in triage.
func seededDatabase(_ label: String) async throws -> PostgresConfiguration {
    let database = try await TestDatabase.create(label)
    let connection = try await PostgresConnection.connect(database)
    defer { Task { await connection.close() } }
    let inputs = [
        CaseInput(text: "留抵退税没到账", taskForce: .tax), CaseInput(text: "出口退税延迟", taskForce: .tax),
        CaseInput(text: "工厂停电", taskForce: .infrastructure), CaseInput(text: "政府拖欠工程款", taskForce: .credit),
        CaseInput(text: "贷款展期", taskForce: .financing, receivedAt: Date().addingTimeInterval(-10 * 24 * 3600)),
        CaseInput(text: "你好", taskForce: .triage),
    ]
    let prepared = try inputs.map { try Shared.intake.prepare($0) }
    let outcomes = try await connection.transaction { try await Shared.intake.store(prepared, on: $0) }
    try await connection.query(
        "UPDATE cases SET state = 'resolved', resolved_at = received_at + interval '2 hours', first_response_at = now() WHERE id = ANY($1)",
        [outcomes[0].caseID, outcomes[2].caseID])
    try await connection.query("UPDATE cases SET escalation_level = 1, first_response_at = now() WHERE id = $1", outcomes[3].caseID)
    try await connection.query("INSERT INTO case_events (case_id, type, actor, data) VALUES ($1, 'escalated', 'test', '{\"to_level\": 1}')", outcomes[3].caseID)
    // The credit case's casework this month: held, signed off on time, answered late, satisfied.
    try await connection.query("""
        INSERT INTO case_events (case_id, type, actor, data) VALUES
            ($1, 'held_for_people', 'test', '{}'), ($1, 'signed_off', 'officer', '{"on_time": true}'),
            ($1, 'answered', 'officer', '{"on_time": false, "round": 0}'),
            ($1, 'callback_recorded', 'desk', '{"satisfaction": "satisfied", "round": 0}')
        """, outcomes[3].caseID)
    try await connection.query("INSERT INTO workers (name, host, pid, task_forces, handler, slots) VALUES ('w-test', 'host', 1, '{tax}', 'advisor', 4)")
    try await connection.query("SELECT dashboard.refresh()")
    return database
}

/// The dashboard as deployed: its pool connects as a login of the dashboard role, and
/// readers authenticate as another such login (HTTP basic auth).
func makeDashboard(_ database: PostgresConfiguration) async throws -> (pool: ConnectionPool, router: Router<DashboardRequestContext>, auth: HTTPFields) {
    let service = try await TestDatabase.login(["taskforce_dashboard"], on: database)
    let reader = try await TestDatabase.login(["taskforce_dashboard"], on: database)
    let pool = ConnectionPool(configuration: service.configuration, maximumConnections: 2)
    let router = DashboardApp.router(pool: pool, logins: DashboardLogins(server: database))
    return (pool, router, basicAuth(reader.name, reader.password))
}

func basicAuth(_ user: String, _ password: String) -> HTTPFields {
    [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
}

@Suite("Dashboard over HTTP")
struct DashboardHTTPTests {
    @Test("GET /healthz answers ok while the database answers")
    func health() async throws {
        let (pool, router, _) = try await makeDashboard(try await TestDatabase.create("dash_health"))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok\n")
            }
        }
        await pool.close()
    }

    @Test("GET /api/summary shows every task force with real numbers from the views")
    func summary() async throws {
        let (pool, router, auth) = try await makeDashboard(try await seededDatabase("dash_summary"))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/summary", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let taskForces = try #require(json["task_forces"] as? [[String: Any]])
                #expect(taskForces.map { $0["key"] as? String } == TaskForce.departments.map(\.rawValue))
                let tax = try #require(taskForces.first { $0["key"] as? String == "tax" })
                #expect(tax["received"] as? Int == 2)
                #expect(tax["resolved"] as? Int == 1)
                #expect((tax["resolution_rate"] as? Double).map { abs($0 - 0.5) < 0.001 } == true)
                #expect((tax["median_resolve_seconds"] as? Double).map { abs($0 - 7200) < 1 } == true)
                let credit = try #require(taskForces.first { $0["key"] as? String == "credit" })
                #expect((credit["escalations"] as? [String: Int])?["1"] == 1)
                let casework = try #require(credit["casework"] as? [String: Any])
                #expect(casework["held"] as? Int == 1 && casework["answers"] as? Int == 1)
                #expect(casework["response_rate"] as? Double == 1 && casework["resolution_rate"] as? Double == 0)
                #expect(casework["satisfaction_rate"] as? Double == 1 && casework["rank"] as? Int == 1)
                #expect(tax["casework"] == nil)
                let financing = try #require(taskForces.first { $0["key"] as? String == "financing" })
                #expect(financing["breached_open"] as? Int == 1)
                #expect(json["triage_backlog"] as? Int == 1)
                #expect((json["workers"] as? [[String: Any]])?.first?["name"] as? String == "w-test")
                #expect((json["throughput"] as? [Any])?.count == 48)
            }
        }
        await pool.close()
    }

    @Test("GET / is one self-contained page in Chinese and English that fetches nothing from the internet")
    func page() async throws {
        let (pool, router, auth) = try await makeDashboard(try await TestDatabase.create("dash_page"))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(html.contains("工作专班"))
                #expect(html.contains("Task-force dashboard"))
                #expect(html.contains("api/summary"))
                #expect(!html.contains("src=\"http"))
                #expect(!html.contains("href=\"http"))
                #expect(!html.contains("@import"))
            }
        }
        await pool.close()
    }

    @Test("GET /metrics passes a Prometheus text-format parse and carries the queue and case gauges")
    func metrics() async throws {
        let (pool, router, auth) = try await makeDashboard(try await seededDatabase("dash_metrics"))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let samples = try PrometheusText.parse(String(buffer: response.body))
                #expect(samples.contains { $0.name == "taskforce_queue_jobs" && $0.labels["queue"] == "tax" && $0.labels["state"] == "available" && $0.value == 2 })
                #expect(samples.contains { $0.name == "taskforce_queue_oldest_job_age_seconds" && $0.labels["queue"] == "credit" })
                #expect(samples.contains { $0.name == "taskforce_cases_overdue" && $0.labels["task_force"] == "financing" && $0.value == 1 })
                #expect(samples.contains { $0.name == "taskforce_deadline_breaches" })
                #expect(samples.contains { $0.name == "taskforce_cases_received_last_hour" })
                #expect(samples.contains { $0.name == "taskforce_casework_rate" && $0.labels["task_force"] == "credit" && $0.labels["rate"] == "satisfaction" && $0.value == 1 })
                #expect(samples.contains { $0.name == "taskforce_casework_rate" && $0.labels["task_force"] == "credit" && $0.labels["rate"] == "resolution" && $0.value == 0 })
                #expect(samples.contains { $0.name == "taskforce_casework_events" && $0.labels["kind"] == "held" && $0.value == 1 })
                #expect(!samples.contains { $0.name == "taskforce_casework_rate" && $0.labels["task_force"] == "tax" })
            }
        }
        await pool.close()
    }
}

@Suite("The dashboard requires a login")
struct DashboardLoginTests {
    @Test("without a dashboard login the page, the API and /metrics answer 401 and show nothing; /healthz stays open")
    func loginRequired() async throws {
        let database = try await seededDatabase("dash_login")
        let (pool, router, auth) = try await makeDashboard(database)
        let worker = try await TestDatabase.login(["taskforce_worker_tax"], on: database)
        let app = Application(router: router)
        try await app.test(.router) { client in
            let refused: [(String, HTTPFields)] = [
                ("no credentials", [:]),
                ("a wrong password", basicAuth(auth[.authorization].flatMap(Self.user) ?? "", "wrong-password")),
                ("a login of another role", basicAuth(worker.name, worker.password)),
                ("garbage", [.authorization: "Basic %%%"]),
            ]
            for uri in ["/", "/api/summary", "/metrics"] {
                for (what, headers) in refused {
                    try await client.execute(uri: uri, method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(uri) with \(what)")
                        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
                        let body = String(buffer: response.body)
                        #expect(!body.contains("tax") && !body.contains("留抵"), "\(uri) leaked data with \(what)")
                    }
                }
                try await client.execute(uri: uri, method: .get, headers: auth) { response in
                    #expect(response.status == .ok, "\(uri) with the reader's login")
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        await pool.close()
    }

    @Test("repeated wrong passwords for a login are refused without asking the database (429)")
    func failedLoginsAreLimited() async throws {
        let database = try await TestDatabase.create("dash_limit")
        let reader = try await TestDatabase.login(["taskforce_dashboard"], on: database)
        let logins = DashboardLogins(server: database, failureLimit: 3)
        for _ in 0..<3 {
            #expect(await logins.check(authorization: basicAuth(reader.name, "guess")[.authorization], client: "192.0.2.1") == .refused)
        }
        #expect(await logins.check(authorization: basicAuth(reader.name, "guess")[.authorization], client: "192.0.2.1") == .limited)
        // That client waits out the window, even with the right password…
        #expect(await logins.check(authorization: basicAuth(reader.name, reader.password)[.authorization], client: "192.0.2.1") == .limited)
        // …but a stranger's guesses do not lock the login out for everyone else.
        #expect(await logins.check(authorization: basicAuth(reader.name, reader.password)[.authorization], client: "192.0.2.9") == .accepted)
    }

    @Test("a login the server does not ask a password of, or a superuser, is refused whatever password is typed")
    func trustedLoginsAreRefused() async throws {
        let database = try await TestDatabase.create("dash_trust")
        let logins = DashboardLogins(server: database)
        // The test cluster trusts its superuser without a password (as a `trust` or `peer` rule would).
        let superuser = try await PostgresConnection.connect(database)
        let name = try #require(try await superuser.query("SELECT session_user::text").first?.decode(0, as: String.self))
        await superuser.close()
        #expect(await logins.check(authorization: basicAuth(name, "anything")[.authorization], client: nil) == .refused)
    }

    static func user(_ header: String) -> String? {
        guard let encoded = header.split(separator: " ").last, let data = Data(base64Encoded: String(encoded)),
              let text = String(data: data, encoding: .utf8) else { return nil }
        return text.split(separator: ":").first.map(String.init)
    }
}

@Suite("The read-only dashboard role")
struct DashboardRoleTests {
    @Test("a login granted taskforce_dashboard reads the views and nothing else")
    func readOnly() async throws {
        let database = try await seededDatabase("dash_role")
        let owner = try await PostgresConnection.connect(database)
        defer { Task { await owner.close() } }
        let reader = try await PostgresConnection.connect(try await TestDatabase.login(["taskforce_dashboard"], on: database).configuration)
        defer { Task { await reader.close() } }
        let snapshot = try await DashboardSnapshot.load(on: reader)
        #expect(snapshot.taskForces.count == 7)
        for table in ["cases", "case_events", "queue_jobs", "queue_job_archive", "resolutions", "workers", "routing_corrections", "schema_migrations"] {
            let error = await #expect(throws: PostgresError.self) { try await reader.query("SELECT count(*) FROM \(table)") }
            #expect(error?.isInsufficientPrivilege == true, "\(table) should be denied")
        }
        let write = await #expect(throws: PostgresError.self) { try await reader.query("DELETE FROM cases") }
        #expect(write?.isInsufficientPrivilege == true)
        let refresh = await #expect(throws: PostgresError.self) { try await reader.query("SELECT dashboard.refresh()") }
        #expect(refresh?.isInsufficientPrivilege == true)
    }

    @Test("a discarded job's error reaches the dashboard role with anything like a password masked")
    func errorsAreMasked() async throws {
        let database = try await TestDatabase.create("dash_mask")
        let owner = try await PostgresConnection.connect(database)
        defer { Task { await owner.close() } }
        try await owner.query("""
            INSERT INTO queue_jobs (queue, kind, state, errors) VALUES ('tax', 'case', 'discarded', jsonb_build_array(jsonb_build_object(
                'attempt', 1, 'error', 'handler exited with status 3; stderr: DATABASE_URL=postgresql://w:hunter22@db/x PGPASSWORD=hunter23 token: hunter24 {"password": "hunter25"} Authorization: Bearer hunter26')))
            """)
        let reader = try await PostgresConnection.connect(try await TestDatabase.login(["taskforce_dashboard"], on: database).configuration)
        defer { Task { await reader.close() } }
        let shown = try await reader.query("SELECT last_error FROM dashboard.discarded_jobs").first?.decode(0, as: String.self) ?? ""
        #expect(shown.contains("handler exited with status 3"))
        for secret in ["hunter22", "hunter23", "hunter24", "hunter25", "hunter26"] { #expect(!shown.contains(secret), "\(shown)") }
    }
}

/// A strict reader of the Prometheus text exposition format (0.0.4).
enum PrometheusText {
    struct Sample { let name: String; let labels: [String: String]; let value: Double }
    struct ParseError: Error, CustomStringConvertible { let line: Int; let reason: String; var description: String { "line \(line): \(reason)" } }

    static func parse(_ text: String) throws -> [Sample] {
        var samples: [Sample] = []
        var types: [String: String] = [:]
        let namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE" || parts[0] == "#" else { continue }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw ParseError(line: number, reason: "bad TYPE line")
                    }
                    guard types[String(parts[2])] == nil else { throw ParseError(line: number, reason: "TYPE repeated for \(parts[2])") }
                    types[String(parts[2])] = String(parts[3])
                }
                continue
            }
            var rest = Substring(line)
            let nameEnd = rest.firstIndex(where: { $0 == "{" || $0 == " " }) ?? rest.endIndex
            let name = String(rest[..<nameEnd])
            guard name.wholeMatch(of: namePattern) != nil else { throw ParseError(line: number, reason: "bad metric name \(name)") }
            rest = rest[nameEnd...]
            var labels: [String: String] = [:]
            if rest.first == "{" {
                guard let close = rest.lastIndex(of: "}") else { throw ParseError(line: number, reason: "unclosed label set") }
                let body = rest[rest.index(after: rest.startIndex)..<close]
                var cursor = body.startIndex
                while cursor < body.endIndex {
                    guard let equals = body[cursor...].firstIndex(of: "=") else { throw ParseError(line: number, reason: "label without =") }
                    let key = String(body[cursor..<equals]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                    var valueIndex = body.index(after: equals)
                    guard valueIndex < body.endIndex, body[valueIndex] == "\"" else { throw ParseError(line: number, reason: "label value not quoted") }
                    valueIndex = body.index(after: valueIndex)
                    var value = ""
                    while valueIndex < body.endIndex, body[valueIndex] != "\"" {
                        if body[valueIndex] == "\\" { valueIndex = body.index(after: valueIndex) }
                        value.append(body[valueIndex])
                        valueIndex = body.index(after: valueIndex)
                    }
                    guard valueIndex < body.endIndex else { throw ParseError(line: number, reason: "unterminated label value") }
                    labels[key] = value
                    cursor = body.index(after: valueIndex)
                }
                rest = rest[rest.index(after: close)...]
            }
            let fields = rest.split(separator: " ")
            guard let first = fields.first, let value = Double(first) ?? (first == "+Inf" ? .infinity : first == "-Inf" ? -.infinity : first == "NaN" ? .nan : nil) else {
                throw ParseError(line: number, reason: "no value")
            }
            guard types[name] != nil || types[name.replacingOccurrences(of: "_total", with: "")] != nil else {
                throw ParseError(line: number, reason: "sample \(name) without TYPE")
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        return samples
    }
}
