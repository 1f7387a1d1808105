import ArgumentParser
import Console
import Foundation
import Hummingbird
import Logging
import PostgresClient
import TaskForces

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Serve the casework console: inbox, case pages and actions, triage desk, leader view (docs/console.md).",
        discussion: """
            People log in with their own database login and password (officer-TF, dispatcher
            for operators, leader); the console connects to PostgreSQL as that login and keeps a
            small pool of its connections for the session, so row-level security decides what
            each sees and may change. DATABASE_URL (or --database-url) says only where the
            server is: its user and password are replaced by each person's.

            Plain HTTP is served on loopback addresses only, unless --allow-plain-http: put a
            TLS reverse proxy in front (docs/console.md, with --behind-tls-proxy) or give
            --tls-certificate and --tls-key.
            """)

    @Option(help: "Address to listen on, HOST:PORT.") var listen = "127.0.0.1:8081"
    @Option(name: .customLong("tls-certificate"), help: ArgumentHelp("PEM certificate chain: serve HTTPS itself.", valueName: "FILE"))
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-certificate.", valueName: "FILE")) var tlsKey: String?
    @Flag(name: .customLong("behind-tls-proxy"), help: "A TLS reverse proxy on this host forwards to the console: Secure cookies, the client's address from X-Real-IP.")
    var behindTLSProxy = false
    @Flag(name: .customLong("allow-plain-http"), help: "Serve plain HTTP on a non-loopback address (passwords cross the network unencrypted).")
    var allowPlainHTTP = false
    @Option(name: .customLong("session-idle"), help: "Minutes without a request after which a session ends.") var sessionIdle = 30
    @Option(name: .customLong("session-max"), help: "Hours after login after which a session ends in any case.") var sessionMax = 12
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var policy: PolicyOptions
    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("give both --tls-certificate and --tls-key, or neither") }
        guard (1...1440).contains(sessionIdle) else { throw ValidationError("--session-idle must be 1 to 1440 minutes") }
        guard (1...168).contains(sessionMax) else { throw ValidationError("--session-max must be 1 to 168 hours") }
    }

    func run() async throws {
        let (host, port) = try ConsoleApp.parseListen(listen)
        let tls = tlsCertificate.flatMap { certificate in tlsKey.map { (certificate: certificate, key: $0) } }
        try ConsoleApp.checkTransport(host: host, tls: tls != nil, allowPlainHTTP: allowPlainHTTP)
        var logger = Logger(label: "console")
        logger.logLevel = .info
        let (timeLimits, calendar) = try policy.load()
        let normalizer = try TextNormalizer()
        let classifier = try model.classifier(normalizer: normalizer)
        let advisor = CaseAdvisor(catalogue: try MeasuresCatalogue.bundled(), escalationTerms: try EscalationTerms.bundled(), classifier: classifier)
        let options = ConsoleApp.Options(secureCookies: tls != nil || behindTLSProxy, behindProxy: behindTLSProxy, policy: timeLimits,
                                         calendar: calendar, classifier: classifier, advisor: advisor)
        let sessions = ConsoleSessions(server: database.configuration(applicationName: "console"),
                                       idleTimeout: .seconds(sessionIdle * 60), maxLifetime: .seconds(sessionMax * 3600))
        let app = try ConsoleApp.application(sessions: sessions, options: options,
                                             listener: .init(host: host, port: port, tls: tls), logger: logger)
        let scheme = tls == nil ? "http" : "https"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        print("console on \(scheme)://\(shownHost):\(port)/  (log in as an officer, operator or leader login; health: /healthz)")
        // Sessions that expired without a further request still hold connections: end them every minute.
        let sweeper = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                await sessions.expire()
            }
        }
        defer { sweeper.cancel() }
        try await app.runService()
        await sessions.closeAll()
    }
}
