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
            read-only role taskforce_dashboard (docs/operations.md).
            """)

    @Option(help: "Address to listen on, HOST:PORT.") var listen = "127.0.0.1:8080"
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let (host, port) = try DashboardApp.parseListen(listen)
        var logger = Logger(label: "dashboard")
        logger.logLevel = .info
        let pool = ConnectionPool(configuration: database.configuration(applicationName: "dashboard"), maximumConnections: 4)
        print("dashboard on http://\(host):\(port)/  (JSON: /api/summary, Prometheus: /metrics, health: /healthz)")
        try await DashboardApp.application(pool: pool, host: host, port: port, logger: logger).runService()
        await pool.close()
    }
}
