import Foundation
import Schema
import Testing
import Yams

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The built executables (next to the test bundle).
let products: URL = {
    var url = Bundle.main.bundleURL
    while url.pathComponents.count > 1, !FileManager.default.fileExists(atPath: url.appending(path: "dispatcher").path) {
        url = url.deletingLastPathComponent()
    }
    return url
}()

@Suite("docker-compose, Dockerfile and Grafana files")
struct DeploymentFilesTests {
    func yaml(_ path: String) throws -> [String: Any] {
        let text = try String(contentsOf: repository.appending(path: path), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any], "\(path) is not a YAML mapping")
    }

    /// Every `CREATE [MATERIALIZED] VIEW dashboard.x` in the migrations.
    func dashboardViews() throws -> Set<String> {
        let sql = try Schema.migrations().map(\.sql).joined(separator: "\n")
        return Set(sql.matches(of: /CREATE (?:MATERIALIZED )?VIEW (dashboard\.[a-z_]+)/).map { String($0.output.1) })
    }

    @Test("docker-compose.yml parses and has PostgreSQL, migrate, dashboard, workers for every task force, and Grafana")
    func composeServices() throws {
        let compose = try yaml("docker-compose.yml")
        let services = try #require(compose["services"] as? [String: Any])
        for name in ["postgres", "migrate", "dashboard", "grafana"] { #expect(services[name] != nil, "missing service \(name)") }
        for taskForce in ["tax", "credit", "legal", "infrastructure", "financing", "innovation", "foreign"] {
            let worker = try #require(services["worker-\(taskForce)"] as? [String: Any], "missing worker-\(taskForce)")
            let command = try #require(worker["command"] as? [String])
            #expect(command.starts(with: ["worker", "--task-force", taskForce]))
            #expect(((worker["deploy"] as? [String: Any])?["replicas"] as? Int ?? 1) >= 2)
        }
    }

    @Test("every command compose runs exists in the built binaries")
    func composeCommandsExist() throws {
        let compose = try yaml("docker-compose.yml")
        let services = try #require(compose["services"] as? [String: Any])
        var invocations: [[String]] = []
        for case let service as [String: Any] in services.values {
            guard let command = service["command"] as? [String] else { continue }
            if command.first == "sh", let script = command.last {
                invocations += script.components(separatedBy: "&&").map { $0.split(separator: " ").map(String.init) }
            } else {
                invocations.append(command)
            }
        }
        #expect(invocations.count >= 9)
        for invocation in invocations {
            guard let program = invocation.first, ["dispatcher", "worker"].contains(program) else { continue }
            // The subcommand path: the leading words that are not options or their values.
            var path: [String] = []
            for word in invocation.dropFirst() {
                if word.hasPrefix("-") { break }
                path.append(word)
                if program == "dispatcher", path.count == 1, word != "roles" { break }
                if path.count == 2 { break }
            }
            let process = Process()
            process.executableURL = products.appending(path: program)
            process.arguments = path + ["--help"]
            process.standardOutput = Pipe()
            process.standardError = Pipe()
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(program) \(path.joined(separator: " ")) does not exist")
            // Options given in compose are accepted by the command.
            let help = String(decoding: (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for option in invocation where option.hasPrefix("--") {
                #expect(help.contains(option), "\(program) \(path.joined(separator: " ")) has no option \(option)")
            }
        }
    }

    @Test("the Grafana dashboard is valid JSON whose queries read only dashboard views that exist")
    func grafanaDashboard() throws {
        let data = try Data(contentsOf: repository.appending(path: "deploy/grafana/dashboards/taskforce.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 8)
        let views = try dashboardViews()
        #expect(views.contains("dashboard.backlog"))
        for panel in panels {
            for case let target as [String: Any] in panel["targets"] as? [Any] ?? [] {
                let sql = try #require(target["rawSql"] as? String)
                let referenced = sql.matches(of: /(?:FROM|JOIN)\s+([a-z_]+(?:\.[a-z_]+)?)/).map { String($0.output.1) }
                #expect(!referenced.isEmpty)
                for name in referenced {
                    #expect(views.contains(name), "panel \(panel["title"] ?? "?") reads \(name), which is not a dashboard view")
                }
            }
        }
    }

    @Test("Grafana's data source logs in as a member of the read-only role that compose creates")
    func grafanaDataSource() throws {
        let provisioning = try yaml("deploy/grafana/provisioning/datasources/postgres.yml")
        let source = try #require((provisioning["datasources"] as? [[String: Any]])?.first)
        #expect(source["type"] as? String == "postgres")
        let user = try #require(source["user"] as? String)
        let migrate = try #require((try yaml("docker-compose.yml")["services"] as? [String: Any])?["migrate"] as? [String: Any])
        let script = (migrate["command"] as? [String])?.last ?? ""
        #expect(script.contains("roles login \(user) --role dashboard"))
        let sql = try Schema.migrations().map(\.sql).joined()
        #expect(sql.contains("CREATE ROLE taskforce_dashboard NOLOGIN"))
        _ = try yaml("deploy/grafana/provisioning/dashboards/dashboards.yml")
    }

    @Test("compose runs every process as its own least-privilege login; only migrate uses the superuser")
    func composeLeastPrivilege() throws {
        let services = try #require(try yaml("docker-compose.yml")["services"] as? [String: Any])
        let superuser = try #require(((services["postgres"] as? [String: Any])?["environment"] as? [String: Any])?["POSTGRES_USER"] as? String)
        let script = ((services["migrate"] as? [String: Any])?["command"] as? [String])?.last ?? ""
        func user(of service: String) throws -> String {
            let environment = try #require((services[service] as? [String: Any])?["environment"] as? [String: Any], "\(service) has no environment")
            let url = try #require(environment["DATABASE_URL"] as? String, "\(service) has no DATABASE_URL")
            let userinfo = try #require(url.split(separator: "//").last?.split(separator: "@").first)
            return String(userinfo.split(separator: ":").first ?? "")
        }
        #expect(try user(of: "migrate") == superuser)
        var expected: [String: String] = ["dashboard": "dashboard", "maintainer": "maintainer"]
        for taskForce in ["tax", "credit", "legal", "infrastructure", "financing", "innovation", "foreign"] {
            expected["worker-\(taskForce)"] = "worker-\(taskForce)"
        }
        for (service, role) in expected.sorted(by: { $0.key < $1.key }) {
            let login = try user(of: service)
            #expect(login != superuser, "\(service) connects as the superuser")
            #expect(script.contains("roles login \(login) --role \(role)"), "\(service)'s login \(login) is not created with role \(role)")
        }
        let maintainer = try #require((services["maintainer"] as? [String: Any])?["command"] as? [String])
        #expect(maintainer.contains("--maintenance-only"))
        for (service, value) in services where service.hasPrefix("worker-") {
            let worker = try #require(value as? [String: Any])
            #expect((worker["command"] as? [String])?.contains("--no-maintenance") == true, "\(service) would stand for leader")
            #expect(worker["init"] as? Bool == true, "\(service) runs without an init to reap handler processes")
        }
        // Nothing is published beyond this machine by default.
        for (service, value) in services {
            for port in ((value as? [String: Any])?["ports"] as? [String]) ?? [] {
                #expect(port.hasPrefix("127.0.0.1:"), "\(service) publishes \(port) on every interface")
            }
        }
    }

    @Test("the Dockerfile is multi-stage and builds both programs")
    func dockerfile() throws {
        let text = try String(contentsOf: repository.appending(path: "Dockerfile"), encoding: .utf8)
        #expect(text.components(separatedBy: "\nFROM ").count + (text.hasPrefix("FROM ") ? 1 : 0) >= 3)
        #expect(text.contains("--product dispatcher") && text.contains("--product worker"))
        #expect(text.contains("COPY --from=build"))
    }
}
