import Foundation
import Hummingbird
import Logging
import PostgresClient

/// The dashboard's HTTP service:
/// - `GET /` — a self-contained page (no file fetched from the internet) refreshing itself;
/// - `GET /api/summary` — the JSON behind it (``DashboardSnapshot``);
/// - `GET /metrics` — Prometheus text;
/// - `GET /healthz` — `ok` when the database answers, 503 otherwise (the only route without a login).
package enum DashboardApp {
    /// The routes, over a pool of (ideally read-only) connections. Everything but
    /// `/healthz` needs a dashboard login (``DashboardLogins``).
    /// - Parameters:
    ///   - pool: connections as the dashboard's own login (role `taskforce_dashboard`).
    ///   - logins: checks the readers' logins.
    ///   - maxStaleness: the historical figures are recomputed on read when older than
    ///     this (by one reader at a time), so they are fresh whether or not a worker runs.
    package static func router(pool: ConnectionPool, logins: DashboardLogins, maxStaleness: Duration = .seconds(10)) -> Router<DashboardRequestContext> {
        let router = Router(context: DashboardRequestContext.self)
        router.get("/healthz") { _, _ -> Response in
            do {
                try await pool.query(DashboardQueries.ping)
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
            } catch {
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "database unavailable\n")))
            }
        }
        let guarded = router.group().add(middleware: DashboardAuthMiddleware(logins: logins))
        guarded.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        guarded.get("/api/summary") { _, _ -> Response in
            let snapshot = try await pool.withConnection { try await DashboardSnapshot.load(on: $0, maxStaleness: maxStaleness) }
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try snapshot.json())))
        }
        guarded.get("/metrics") { _, _ -> Response in
            let snapshot = try await pool.withConnection { try await DashboardSnapshot.load(on: $0, maxStaleness: maxStaleness) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: DashboardMetrics.render(snapshot))))
        }
        return router
    }

    /// The application listening on `host:port`.
    package static func application(pool: ConnectionPool, logins: DashboardLogins, host: String, port: Int, maxStaleness: Duration = .seconds(10),
                                   logger: Logger) -> some ApplicationProtocol {
        Application(router: router(pool: pool, logins: logins, maxStaleness: maxStaleness), configuration: .init(address: .hostname(host, port: port), serverName: "taskforce-dashboard"), logger: logger)
    }

    /// Parses `HOST:PORT` (e.g. `127.0.0.1:8080`, `0.0.0.0:9100`).
    package static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            throw DashboardError(code: .invalidListenAddress, message: "listen address \"\(text)\" must be HOST:PORT, e.g. 127.0.0.1:8080", field: "listen")
        }
        let host = String(text[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}
