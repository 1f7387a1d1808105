import CaseLedger
import Foundation
import PostgresClient
import TaskForces

/// One row of the console's case lists (inbox, leader view).
package struct ConsoleCaseRow: Sendable, Equatable {
    package var id: Int64
    package var taskForce: String
    package var state: String
    package var level: Int
    package var enterprise: String?
    package var text: String
    package var receivedAt: Date
    package var urgent: Bool
    package var signoffDueAt: Date?
    package var dueAt: Date?
    package var warnAt: Date?
    package var pausedAt: Date?
    package var resumeAt: Date?
    package var callbackDueAt: Date?
    package var redoCount: Int
    package var supervisedCount: Int
    package var chasedCount: Int
    /// The value of the list's order for this row, as text: the next page's cursor.
    package var sortKey: String

    init(_ row: PostgresRow) throws {
        id = try row.decode("id")
        taskForce = try row.decode("task_force")
        state = try row.decode("state")
        level = try row.decode("escalation_level")
        enterprise = try row.decode("enterprise")
        text = try row.decode("text")
        receivedAt = try row.decode("received_at")
        urgent = try row.decode("urgent")
        signoffDueAt = try row.decode("signoff_due_at")
        dueAt = try row.decode("due_at")
        warnAt = try row.decode("warn_at")
        pausedAt = try row.decode("paused_at")
        resumeAt = try row.decode("resume_at")
        callbackDueAt = try row.decode("callback_due_at")
        redoCount = try row.decode("redo_count")
        supervisedCount = try row.decode("supervised_count")
        chasedCount = try row.decode("chased_count")
        sortKey = try row.decode("sort_key")
    }

    /// Where the sign-off clock stands (only while the case waits for sign-off).
    package func signOffClock(now: Date) -> ConsoleClock? {
        guard state == "signoff" || state == "redo", let due = signoffDueAt else { return nil }
        return ConsoleClock(due: due, warn: due.addingTimeInterval(-ConsoleClock.signOffWarning), now: now)
    }

    /// Where the solution clock stands: paused while suspended, done once answered.
    package func solutionClock(now: Date) -> ConsoleClock? {
        guard let due = dueAt else { return nil }
        if state == "suspended" { return ConsoleClock(due: due, warn: warnAt, now: now, paused: true) }
        guard ["signoff", "working", "cohandling", "redo"].contains(state) else { return nil }
        return ConsoleClock(due: due, warn: warnAt, now: now)
    }
}

/// A clock's standing: time left (negative when breached), and whether it is at risk.
package struct ConsoleClock: Sendable, Equatable {
    /// A sign-off clock is at risk in its last 30 minutes (the policy gives it no warning point).
    package static let signOffWarning: TimeInterval = 30 * 60

    package var due: Date
    package var left: TimeInterval
    package var paused: Bool
    package var status: Status

    package enum Status: String, Sendable { case onTime = "on-time", atRisk = "at-risk", breached, paused }

    package init(due: Date, warn: Date?, now: Date, paused: Bool = false) {
        self.due = due
        self.left = due.timeIntervalSince(now)
        self.paused = paused
        if paused {
            status = .paused
        } else if now >= due {
            status = .breached
        } else if let warn, now >= warn {
            status = .atRisk
        } else {
            status = .onTime
        }
    }
}

/// The inbox's order.
package enum InboxSort: String, Sendable, CaseIterable {
    /// The solution clock, most urgent first (the default).
    case due
    /// The sign-off clock, most urgent first.
    case signoff
    /// Received, newest first.
    case newest
    /// Received, oldest first.
    case oldest
}

/// The people's cases a login sees (row-level security decides), in one of the orders of
/// ``InboxSort``, filtered by state and task force, a page at a time (keyset pagination:
/// the next page starts after the last row's sort key and id; every order is one index's
/// range read, see `SQL/ConsoleQueries.sql` and migration 0015).
package struct ConsoleInbox: Sendable {
    /// The people's states the inbox lists.
    package static let states = ["signoff", "working", "suspended", "cohandling", "answered", "callback_due", "redo"]

    package var rows: [ConsoleCaseRow]
    /// The cursor of the next page (`key~id`), nil on the last page.
    package var next: String?

    /// Reads one page.
    /// - Parameters:
    ///   - state: one of ``states``, or nil for all.
    ///   - taskForce: one task force, or nil for every one the login sees.
    ///   - sort: the order.
    ///   - after: the cursor of the previous page's ``next``.
    ///   - limit: rows per page (1…200).
    package static func read(state: String?, taskForce: TaskForce?, sort: InboxSort, after: String?, limit: Int,
                             on connection: PostgresConnection) async throws -> ConsoleInbox {
        let state = state.flatMap { states.contains($0) ? $0 : nil }
        let limit = min(max(limit, 1), 200)
        var key: String?
        var afterID: Int64?
        if let after, let tilde = after.lastIndex(of: "~"), let id = Int64(after[after.index(after: tilde)...]) {
            key = String(after[..<tilde])
            afterID = id
        }
        let statement: String
        var parameters: [any PostgresEncodable] = [state, key, afterID, limit + 1]
        switch (sort, taskForce) {
        case (.due, nil): statement = state == "answered" || state == "callback_due" ? ConsoleQueries.inboxDueOfState : ConsoleQueries.inboxDue
        case (.signoff, nil): statement = ConsoleQueries.inboxSignoff
        case (.newest, nil): statement = ConsoleQueries.inboxNewest
        case (.oldest, nil): statement = ConsoleQueries.inboxOldest
        case (.due, .some): statement = ConsoleQueries.inboxDueOfTaskForce
        case (.signoff, .some): statement = ConsoleQueries.inboxSignoffOfTaskForce
        case (.newest, .some): statement = ConsoleQueries.inboxNewestOfTaskForce
        case (.oldest, .some): statement = ConsoleQueries.inboxOldestOfTaskForce
        }
        if let taskForce { parameters.append(taskForce.rawValue) }
        var rows = try await connection.query(statement, parameters: parameters).map(ConsoleCaseRow.init)
        var next: String?
        if rows.count > limit {
            rows.removeLast()
            next = rows.last.map { "\($0.sortKey)~\($0.id)" }
        }
        return ConsoleInbox(rows: rows, next: next)
    }
}

/// What a leader sees: breached clocks and supervised cases across the task forces the
/// login may see, and this month's casework rates and ranking.
package struct ConsoleLeaderView: Sendable {
    package var solutionBreached: [ConsoleCaseRow]
    package var signoffBreached: [ConsoleCaseRow]
    package var supervised: [ConsoleCaseRow]
    package var kpis: [CaseworkKPI]

    /// Reads the view (`limit` rows per list).
    package static func read(limit: Int = 50, on connection: PostgresConnection) async throws -> ConsoleLeaderView {
        ConsoleLeaderView(
            solutionBreached: try await connection.query(ConsoleQueries.leaderSolutionBreached, limit).map(ConsoleCaseRow.init),
            signoffBreached: try await connection.query(ConsoleQueries.leaderSignoffBreached, limit).map(ConsoleCaseRow.init),
            supervised: try await connection.query(ConsoleQueries.leaderSupervised, limit).map(ConsoleCaseRow.init),
            kpis: try await CaseworkKPI.read(month: Date(), on: connection))
    }
}
