import Foundation
import CaseLedger
import PostgresClient
import QueueCore

/// The case deadlines' watchman, run by the maintenance leader: records a warning when
/// a case passes its warning point, and escalates a case whose deadline passed without
/// a resolution — once per breach (per escalation level).
public struct DeadlineEnforcer: Sendable {
    public let escalator: CaseEscalator
    public let batch: Int

    public init(escalator: CaseEscalator, batch: Int = 200) {
        self.escalator = escalator
        self.batch = batch
    }

    /// One pass. Safe to run concurrently: rows are claimed with SKIP LOCKED and the
    /// warned/breached markers make every step happen once.
    /// - Returns: how many warnings and breaches were recorded.
    @discardableResult
    public func enforce(on connection: PostgresConnection) async throws -> (warnings: Int, breaches: Int) {
        let warnings = try await connection.transaction { tx -> Int in
            var events = LedgerBatch(actor: "deadline-enforcer")
            let rows = try await tx.query(WorkerQueries.markWarnings, batch)
            for row in rows {
                events.add(try row.decode("id"), "deadline_warning", [
                    "level": try row.decode("escalation_level", as: Int.self),
                    "due_at": PostgresTimestamp.format(try row.decode("due_at")),
                ])
            }
            try await events.write(on: tx)
            return rows.count
        }
        let breaches = try await connection.transaction { tx -> Int in
            var events = LedgerBatch(actor: "deadline-enforcer")
            let due = try await tx.query(WorkerQueries.dueBreaches, batch).map { try $0.decode(0, as: Int64.self) }
            for caseID in due {
                guard let marked = try await tx.query(WorkerQueries.markBreach, caseID).first else { continue }
                let level: Int = try marked.decode("escalation_level")
                events.add(caseID, "deadline_breached", ["level": level, "due_at": PostgresTimestamp.format(try marked.decode("due_at"))])
                try await escalator.escalate(caseID, fromJob: nil, reason: "deadline passed at level \(level) without a resolution", events: &events, on: tx)
            }
            try await events.write(on: tx)
            return due.count
        }
        return (warnings, breaches)
    }
}
