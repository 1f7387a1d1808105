import Foundation
import CaseLedger
import Logging
import PostgresClient
import QueueCore
import TaskForces

/// The casework's periodic jobs (docs/casework.md, "The sweep"): QueueCore's periodic
/// registry enqueues each once per period, however many maintainer processes run, and
/// whichever of them claims it runs it. They live in their own queue, `casework`, which
/// only processes that stand for maintenance serve (a department's login cannot see it).
package enum CaseworkJobs {
    /// The queue of the casework's own jobs.
    package static let queue = "casework"
    /// One pass over the people's clocks: breaches supervised, suspensions resumed at their
    /// bound, callbacks falling due.
    package static let sweepKind = "casework.sweep"
    /// A daily look at the working calendar: a warning while its holidays do not reach
    /// 60 days ahead (deadlines past it count weekends only).
    package static let calendarCheckKind = "casework.calendar-check"

    /// The schedules: the sweep every `sweepInterval`, the calendar check daily.
    package static func schedules(sweepInterval: Duration) -> [PeriodicJob] {
        [
            PeriodicJob(name: "casework-sweep", queue: queue, kind: sweepKind, every: sweepInterval, maxAttempts: 3,
                        timeLimit: .seconds(60)),
            PeriodicJob(name: "calendar-check", queue: queue, kind: calendarCheckKind, every: .seconds(86_400), maxAttempts: 3,
                        timeLimit: .seconds(30)),
        ]
    }

    /// The handlers of both kinds.
    static func handlers(casework: Casework, calendar: WorkCalendar, pool: ConnectionPool, logger: Logger) -> [String: JobHandler] {
        [
            sweepKind: { _ in
                let sweep = try await pool.withConnection { try await casework.sweep(batch: 500, on: $0) }
                if sweep != CaseworkSweep() {
                    logger.notice("casework swept", metadata: [
                        "signoff_breaches": "\(sweep.signoffBreaches)", "solution_breaches": "\(sweep.solutionBreaches)",
                        "resumed": "\(sweep.resumed)", "callbacks_due": "\(sweep.callbacksDue)"])
                }
                return .completed(result: #"{"signoff_breaches": \#(sweep.signoffBreaches), "solution_breaches": \#(sweep.solutionBreaches), "resumed": \#(sweep.resumed), "callbacks_due": \#(sweep.callbacksDue)}"#)
            },
            calendarCheckKind: { _ in
                guard let warning = PolicyFiles.coverageWarning(calendar) else { return .completed(result: #"{"covered": true}"#) }
                logger.warning("\(warning)")
                return .completed(result: #"{"covered": false}"#)
            },
        ]
    }
}
