import CaseLedger
import PostgresClient

/// The case deadlines' watchman, run by the maintenance leader every few seconds: one
/// pass of ``CaseLifecycle/enforceDeadlines(batch:actor:on:)`` (warnings, then breaches,
/// each breach escalating its case once per level), and one pass of the people's clocks
/// (``Casework/sweep(batch:actor:on:)``: breaches raise supervision once, bounded
/// suspensions resume, callbacks fall due).
package struct DeadlineEnforcer: Sendable {
    package let lifecycle: CaseLifecycle
    package let batch: Int

    package init(lifecycle: CaseLifecycle, batch: Int = 200) {
        self.lifecycle = lifecycle
        self.batch = batch
    }

    /// One pass; safe to run concurrently.
    /// - Returns: how many warnings and breaches were recorded.
    @discardableResult
    package func enforce(on connection: PostgresConnection) async throws -> (warnings: Int, breaches: Int) {
        try await lifecycle.enforceDeadlines(batch: batch, on: connection)
    }
}
