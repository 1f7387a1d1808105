import ArgumentParser
import Dashboard
import Foundation
import Hummingbird
import Logging
import PostgresClient

struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the dashboard: a web page, its JSON API, /metrics and /healthz.",
        discussion: """
            Reads only the views of schema `dashboard`: connect as a login mapped to the
            read-only role taskforce_dashboard (docs/operations.md). Readers log in with
            HTTP basic auth as a database login of that role (checked by connecting as it);
            only /healthz is open. The historical figures are recomputed on read when older
            than --max-staleness (one reader at a time), so they are fresh whether or not a
            worker runs; every figure shows its as-of time.
            """)

    @Option(help: "Address to listen on, HOST:PORT.") var listen = "127.0.0.1:8080"
    @Option(help: "Seconds the historical figures may age before a read recomputes them (at least 1).") var maxStaleness = 10
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let (host, port) = try DashboardApp.parseListen(listen)
        guard maxStaleness >= 1 else { throw ValidationError("--max-staleness must be at least 1 second") }
        var logger = Logger(label: "dashboard")
        logger.logLevel = .info
        let configuration = database.configuration(applicationName: "dashboard")
        let pool = ConnectionPool(configuration: configuration, maximumConnections: 4)
        let logins = DashboardLogins(server: configuration)
        print("dashboard on http://\(host):\(port)/  (JSON: /api/summary, Prometheus: /metrics, health: /healthz; log in as a dashboard-role login)")
        try await DashboardApp.application(pool: pool, logins: logins, host: host, port: port, maxStaleness: .seconds(maxStaleness), logger: logger).runService()
        await pool.close()
    }
}
