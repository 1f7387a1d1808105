import Foundation
import Prometheus

/// Prometheus text for `GET /metrics`, built from a snapshot of the dashboard views.
///
/// A fresh registry per scrape: every series reflects the database now, and a queue or
/// task force that disappears leaves no stale series behind.
package enum DashboardMetrics {
    package static func render(_ snapshot: DashboardSnapshot) -> String {
        let registry = PrometheusCollectorRegistry()
        for summary in snapshot.taskForces {
            let queue = [("queue", summary.key)]
            for state in ["available", "running", "waiting", "discarded"] {
                gauge(registry, "taskforce_queue_jobs", "Jobs in a task force's queue by state", queue + [("state", state)])
                    .set(to: summary.queue[state] ?? 0)
            }
            gauge(registry, "taskforce_queue_oldest_job_age_seconds", "Age of the oldest job ready to run", queue)
                .set(to: summary.queue["oldest_available_seconds"] ?? 0)
            let taskForce = [("task_force", summary.key)]
            gauge(registry, "taskforce_cases_received", "Cases received (refreshed every 30 s)", taskForce)
                .set(to: Double(summary.received))
            gauge(registry, "taskforce_cases_resolved", "Cases resolved (refreshed every 30 s)", taskForce)
                .set(to: Double(summary.resolved))
            gauge(registry, "taskforce_cases_at_risk", "Open cases past their warning point", taskForce)
                .set(to: Double(summary.atRisk))
            gauge(registry, "taskforce_cases_overdue", "Open cases past their due time", taskForce)
                .set(to: Double(summary.breachedOpen))
            gauge(registry, "taskforce_deadline_breaches", "Deadline breaches recorded", taskForce)
                .set(to: Double(summary.breaches))
            if let work = summary.casework {
                // This month's casework (docs/dashboards.md, "Casework KPIs"); a rate with
                // nothing to measure yet is left out rather than shown as 0.
                for (rate, value) in [("response", work.responseRate), ("resolution", work.resolutionRate),
                                      ("satisfaction", work.satisfactionRate), ("return", work.returnRate), ("redo", work.redoRate)] {
                    guard let value else { continue }
                    gauge(registry, "taskforce_casework_rate", "This month's casework rates by people (0 to 1)", taskForce + [("rate", rate)])
                        .set(to: value)
                }
                for (kind, count) in [("held", work.held), ("signed_off", work.signoffs), ("answered", work.answers),
                                      ("callbacks", work.callbacks), ("returned", work.returns), ("redo", work.redos),
                                      ("supervised", work.supervised), ("chased", work.chased)] {
                    gauge(registry, "taskforce_casework_events", "This month's casework events by kind", taskForce + [("kind", kind)])
                        .set(to: Double(count))
                }
                gauge(registry, "taskforce_casework_rank", "This month's rank among the task forces (1 is best)", taskForce)
                    .set(to: Double(work.rank))
            }
            for (state, cases) in summary.backlog {
                gauge(registry, "taskforce_backlog_cases", "Unfinished cases by state", taskForce + [("state", state)])
                    .set(to: Double(cases))
            }
        }
        let lastHour = snapshot.throughput.last
        gauge(registry, "taskforce_cases_received_last_hour", "Cases received in the current hour")
            .set(to: Double(lastHour?.received ?? 0))
        gauge(registry, "taskforce_cases_resolved_last_hour", "Cases resolved in the current hour")
            .set(to: Double(lastHour?.resolved ?? 0))
        gauge(registry, "taskforce_triage_backlog", "Cases waiting for a person to route them")
            .set(to: Double(snapshot.triageBacklog))
        gauge(registry, "taskforce_workers_alive", "Worker processes with a recent heartbeat")
            .set(to: Double(snapshot.workers.filter(\.alive).count))
        return registry.emitToString()
    }

    private static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}
