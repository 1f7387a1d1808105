import CaseLedger
import Foundation
import PostgresClient
import PostgresTestSupport
import QueueCore
import TaskForces
import Testing

/// Least privilege, proven: a login of one department's role works on its own task
/// force's cases and is denied everything of another's.
@Suite("Roles and row-level security")
struct RoleTests {
    struct Setup {
        let database: PostgresConfiguration
        let owner: PostgresConnection
        let taxCase: Int64
        let legalCase: Int64

        /// Connects as a fresh login (with its password) that is a member of `role`.
        func login(_ role: String) async throws -> PostgresConnection {
            try await PostgresConnection.connect(try await TestDatabase.login([role], on: database).configuration)
        }
    }

    static func setUp(_ label: String) async throws -> Setup {
        let database = try await TestDatabase.create(label)
        let owner = try await PostgresConnection.connect(database)
        let prepared = try [
            CaseInput(text: "留抵退税没到账", taskForce: .tax), CaseInput(text: "合同纠纷起诉", taskForce: .legal),
        ].map { try Shared.intake.prepare($0) }
        let outcomes = try await owner.transaction { try await Shared.intake.store(prepared, on: $0) }
        return Setup(database: database, owner: owner, taxCase: outcomes[0].caseID, legalCase: outcomes[1].caseID)
    }

    @Test("a tax worker sees and changes only tax cases, jobs, events and resolutions")
    func departmentIsolation() async throws {
        let setup = try await Self.setUp("rls_isolation")
        let tax = try await setup.login("taskforce_worker_tax")
        defer { Task { await tax.close(); await setup.owner.close() } }

        // Reading: only its own.
        #expect(try await tax.query("SELECT id FROM cases").map { try $0.decode(0, as: Int64.self) } == [setup.taxCase])
        #expect(try await tax.query("SELECT count(*) FROM case_events WHERE case_id = $1", setup.legalCase).first?.decode(0, as: Int.self) == 0)
        #expect(try await tax.query("SELECT DISTINCT queue FROM queue_jobs").map { try $0.decode(0, as: String.self) } == ["tax"])
        // Claiming: the legal queue yields nothing, its own queue its job.
        #expect(try await JobQueue.claim(queues: ["legal"], limit: 10, lease: .seconds(30), worker: "tax-w", on: tax).isEmpty)
        let own = try await JobQueue.claim(queues: ["tax"], limit: 10, lease: .seconds(30), worker: "tax-w", on: tax)
        #expect(own.count == 1)
        // Changing a legal case: no row is touched.
        #expect(try await tax.query("UPDATE cases SET state = 'resolved' WHERE id = $1", setup.legalCase).affectedRows == 0)
        #expect(try await setup.owner.query("SELECT state::text FROM cases WHERE id = $1", setup.legalCase).first?.decode(0, as: String.self) == "open")
        // Writing into the legal queue, its ledger or its resolutions: refused.
        for statement in [
            "INSERT INTO queue_jobs (queue, kind) VALUES ('legal', 'case')",
            "INSERT INTO case_events (case_id, type, actor) VALUES (\(setup.legalCase), 'resolved', 'forger')",
            "INSERT INTO resolutions (case_id, job_id, attempt, escalation_level, outcome, summary, handler, worker, handler_seconds, case_age_seconds) VALUES (\(setup.legalCase), 999, 1, 0, 'resolved', 's', 'h', 'w', 0, 0)",
        ] {
            let error = await #expect(throws: PostgresError.self) { try await tax.query(statement) }
            #expect(error?.isInsufficientPrivilege == true, "\(statement)")
        }
        // Its own case: completing the job with a resolution works.
        try await tax.transaction { tx in
            #expect(try await JobQueue.complete(own.map(\.lease), on: tx).count == 1)
            try await tx.query("""
                INSERT INTO resolutions (case_id, job_id, attempt, escalation_level, outcome, summary, handler, worker, handler_seconds, case_age_seconds)
                VALUES ($1, $2, 1, 0, 'resolved', 'done', 'test', 'tax-w', 0, 0)
                """, setup.taxCase, own[0].id)
        }
        // The dispatcher's and other tables are not the worker's business.
        for table in ["routing_corrections", "schema_migrations", "queue_leader"] {
            let error = await #expect(throws: PostgresError.self) { try await tax.query("SELECT count(*) FROM \(table)") }
            #expect(error?.isInsufficientPrivilege == true, "\(table)")
        }
    }

    @Test("a worker may reroute its own case but not move another department's")
    func redispatchChecksTheCaller() async throws {
        let setup = try await Self.setUp("rls_redispatch")
        let tax = try await setup.login("taskforce_worker_tax")
        defer { Task { await tax.close(); await setup.owner.close() } }
        let denied = await #expect(throws: PostgresError.self) {
            try await Shared.lifecycle.redispatch(.init(
                caseID: setup.legalCase, to: .tax, level: 0, urgent: false, kind: nil,
                deadlineFrom: Date(), source: "corrected", event: .rerouted, reason: "grab", actor: "tax-w"),
                fromJob: nil, on: tax)
        }
        #expect(denied?.isInsufficientPrivilege == true)
        // The refusal says the same as for a case that does not exist: nothing leaks.
        #expect(denied?.message.contains("not found, or not yours") == true)
        #expect(denied?.message.contains("legal") == false)
        let job = try #require(try await Shared.lifecycle.redispatch(.init(
            caseID: setup.taxCase, to: .legal, level: 0, urgent: false, kind: nil,
            deadlineFrom: Date(), source: "corrected", event: .rerouted, reason: "litigation", actor: "tax-w"),
            fromJob: nil, on: tax))
        #expect(try await setup.owner.query("SELECT queue FROM queue_jobs WHERE id = $1", job).first?.decode(0, as: String.self) == "legal")
        // Moved away: now invisible to the tax department.
        #expect(try await tax.query("SELECT count(*) FROM cases").first?.decode(0, as: Int.self) == 0)
    }

    @Test("the dispatcher role takes cases in for every task force; the maintainer rescues across queues")
    func dispatcherAndMaintainer() async throws {
        let setup = try await Self.setUp("rls_dispatcher")
        let dispatcher = try await setup.login("taskforce_dispatcher")
        let maintainer = try await setup.login("taskforce_maintainer")
        defer { Task { await dispatcher.close(); await maintainer.close(); await setup.owner.close() } }
        let prepared = try [CaseInput(text: "工厂停电", taskForce: .infrastructure)].map { try Shared.intake.prepare($0) }
        let outcome = try await dispatcher.transaction { try await Shared.intake.store(prepared, on: $0) }[0]
        #expect(outcome.jobID != nil)
        #expect(try await CaseOperations.status(on: dispatcher).taskForces.count == 7)
        // A claim that nobody heartbeats is rescued by the maintainer, whatever its queue.
        _ = try await JobQueue.claim(queues: ["legal"], limit: 1, lease: .milliseconds(50), worker: "gone", on: setup.owner)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await QueueMaintenance.rescueExpired(on: maintainer).rescued == 1)
        // It refreshes the dashboards' aggregates, as the leader does every 30 s.
        try await maintainer.query("SELECT dashboard.refresh()")
        // It does not own the hot table, so it knows it cannot vacuum it (and does not try).
        #expect(try await QueueMaintenance.mayVacuum(on: maintainer) == false)
        #expect(try await QueueMaintenance.mayVacuum(on: setup.owner) == true)
        // The dispatcher cannot rewrite history.
        let error = await #expect(throws: PostgresError.self) { try await dispatcher.query("DELETE FROM case_events") }
        #expect(error?.isInsufficientPrivilege == true)
    }
}
