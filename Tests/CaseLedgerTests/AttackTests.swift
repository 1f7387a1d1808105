import CaseLedger
import Foundation
import PostgresClient
import PostgresTestSupport
import QueueCore
import TaskForces
import Testing

/// Attacks on the role model, black-box, each as a department's login with nothing but
/// SQL: every one must be refused (docs/reliability.md lists them). Each was traced or
/// reproduced against migrations 0001–0007 (`../shared/design/review-2026-12.md`,
/// findings C1, H1, L9) and succeeded there.
@Suite("Attacks by a department's login")
struct AttackTests {
    struct Setup {
        let database: PostgresConfiguration
        let owner: PostgresConnection
        let taxCase: Int64
        let legalCase: Int64
        let legalJob: Int64
        let tax: TestDatabase.Login

        /// The tax department's session.
        func taxSession() async throws -> PostgresConnection {
            try await PostgresConnection.connect(tax.configuration)
        }

        /// The legal case as the owner sees it: task force, state, current job, events.
        func legalCaseFingerprint() async throws -> String {
            try await owner.query("""
                SELECT task_force || '/' || state::text || '/' || coalesce(current_job_id::text, '-') || '/'
                       || (SELECT count(*) FROM case_events WHERE case_id = c.id) || '/'
                       || (SELECT count(*) FROM routing_corrections WHERE case_id = c.id)
                FROM cases c WHERE id = $1
                """, legalCase).first!.decode(0)
        }
    }

    static func setUp(_ label: String) async throws -> Setup {
        let database = try await TestDatabase.create(label)
        let owner = try await PostgresConnection.connect(database)
        let prepared = try [
            CaseInput(text: "留抵退税没到账", taskForce: .tax), CaseInput(text: "合同纠纷起诉", taskForce: .legal),
        ].map { try Shared.intake.prepare($0) }
        let outcomes = try await owner.transaction { try await Shared.intake.store(prepared, on: $0) }
        let tax = try await TestDatabase.login(["taskforce_worker_tax"], on: database)
        return Setup(database: database, owner: owner, taxCase: outcomes[0].caseID, legalCase: outcomes[1].caseID,
                     legalJob: try #require(outcomes[1].jobID), tax: tax)
    }

    /// The arguments of a move of `caseID` to tax, as an attacker would pass them.
    static func grab(_ caseID: Int64) -> [any PostgresEncodable] {
        let due = Date().addingTimeInterval(86_400)
        return [caseID, Optional<Int64>.none, "tax", "corrected", "rerouted", "grab", "operator:alice", 0, due, due.addingTimeInterval(-3600), "r"]
    }
    static let redispatch = "SELECT public.case_redispatch($1, $2::bigint, $3, $4, $5, $6, $7, $8::integer, $9, $10, $11)"

    @Test("a temporary table shadowing pg_roles, pg_tables or cases does not make case_redispatch move a foreign case")
    func temporaryTableShadow() async throws {
        let setup = try await Self.setUp("attack_pgtemp")
        defer { Task { await setup.owner.close() } }
        let before = try await setup.legalCaseFingerprint()
        // By default a department login may not even create temporary tables (0008).
        let session = try await setup.taxSession()
        let denied = await #expect(throws: PostgresError.self) { try await session.query("CREATE TEMP TABLE pg_roles (rolname name, rolsuper boolean)") }
        #expect(denied?.isInsufficientPrivilege == true)
        await session.close()
        // Even where a DBA grants TEMPORARY, the definer function is not fooled.
        try await setup.owner.executeScript("GRANT TEMPORARY ON DATABASE \"\(setup.database.database!)\" TO \"\(setup.tax.name)\"")
        let shadows = [
            "CREATE TEMP TABLE pg_roles (rolname name, rolsuper boolean); INSERT INTO pg_roles VALUES (session_user, true)",
            "CREATE TEMP TABLE pg_tables (tablename name, schemaname name, tableowner name); INSERT INTO pg_tables VALUES ('cases', 'public', session_user)",
            "CREATE TEMP TABLE cases AS SELECT * FROM public.cases WHERE false; INSERT INTO cases (id, text, task_force) SELECT \(setup.legalCase), 'x', 'tax'",
        ]
        for shadow in shadows {
            let attacker = try await setup.taxSession()
            // The temp table exists and the attacker's own queries see it…
            try await attacker.executeScript(shadow + "; GRANT SELECT ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC")
            // …but the function reads the real catalogs and tables.
            let error = await #expect(throws: PostgresError.self) { try await attacker.query(Self.redispatch, parameters: Self.grab(setup.legalCase)) }
            #expect(error?.isInsufficientPrivilege == true, "\(shadow)")
            #expect(try await attacker.query("SELECT count(*) FROM public.cases").first?.decode(0, as: Int.self) == 1)
            await attacker.close()
        }
        #expect(try await setup.legalCaseFingerprint() == before)
    }

    @Test("a function shadowing pg_has_role in a schema the login may create in does not open other task forces' rows")
    func shadowedPolicyHelper() async throws {
        let setup = try await Self.setUp("attack_shadow_fn")
        defer { Task { await setup.owner.close() } }
        // public is closed to CREATE for PUBLIC (0008)…
        let session = try await setup.taxSession()
        let denied = await #expect(throws: PostgresError.self) {
            try await session.executeScript("CREATE FUNCTION public.pg_has_role(name, text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true'")
        }
        #expect(denied?.isInsufficientPrivilege == true)
        await session.close()
        // …and where a DBA gives the login a schema of its own, the policies still hold.
        try await setup.owner.executeScript("CREATE SCHEMA playground; GRANT USAGE, CREATE ON SCHEMA playground TO \"\(setup.tax.name)\"")
        let attacker = try await setup.taxSession()
        defer { Task { await attacker.close() } }
        try await attacker.executeScript("""
            CREATE FUNCTION playground.pg_has_role(name, text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
            CREATE FUNCTION playground.concat(text, text) RETURNS text LANGUAGE sql AS $$SELECT 'taskforce_worker_tax'$$;
            SET search_path = playground, pg_catalog, public
            """)
        #expect(try await attacker.query("SELECT playground.pg_has_role('x', 'y', 'z')").first?.decode(0, as: Bool.self) == true)
        #expect(try await attacker.query("SELECT id FROM cases").map { try $0.decode(0, as: Int64.self) } == [setup.taxCase])
        #expect(try await attacker.query("UPDATE cases SET state = 'resolved' WHERE task_force = 'legal'").affectedRows == 0)
        #expect(try await attacker.query("SELECT count(*) FROM queue_jobs WHERE queue = 'legal'").first?.decode(0, as: Int.self) == 0)
        #expect(try await setup.owner.query("SELECT state::text FROM cases WHERE id = $1", setup.legalCase).first?.decode(0, as: String.self) == "open")
    }

    @Test("another task force's cases, jobs, archive, resolutions and events are out of reach through every table, view and function")
    func everyPathToForeignRows() async throws {
        let setup = try await Self.setUp("attack_paths")
        defer { Task { await setup.owner.close() } }
        // Give legal a finished job in the archive and a resolution.
        try await setup.owner.executeScript("""
            INSERT INTO queue_job_archive (id, queue, kind, payload, priority, state, attempt, max_attempts, errors, created_at, finished_at)
                VALUES (900001, 'legal', 'case', '{"case_id": \(setup.legalCase), "level": 0}', 0, 'completed', 1, 10, '[]', now(), now());
            INSERT INTO resolutions (case_id, job_id, attempt, escalation_level, outcome, summary, handler, worker, handler_seconds, case_age_seconds)
                VALUES (\(setup.legalCase), 900001, 1, 0, 'resolved', 'legal secret', 'h', 'legal-w', 0, 0)
            """)
        let before = try await setup.legalCaseFingerprint()
        let tax = try await setup.taxSession()
        defer { Task { await tax.close() } }
        // Reading: nothing of legal's.
        for (sql, what) in [
            ("SELECT count(*) FROM cases WHERE task_force = 'legal'", "cases"),
            ("SELECT count(*) FROM case_events WHERE case_id = \(setup.legalCase)", "events"),
            ("SELECT count(*) FROM queue_jobs WHERE queue = 'legal'", "jobs"),
            ("SELECT count(*) FROM queue_job_archive WHERE queue = 'legal'", "archive"),
            ("SELECT count(*) FROM resolutions WHERE case_id = \(setup.legalCase)", "resolutions"),
        ] {
            #expect(try await tax.query(sql).first?.decode(0, as: Int.self) == 0, "\(what) visible")
        }
        // Changing: no row touched, or refused outright.
        for sql in [
            "UPDATE cases SET state = 'resolved' WHERE id = \(setup.legalCase)",
            "UPDATE queue_jobs SET state = 'cancelled' WHERE queue = 'legal'",
            "DELETE FROM queue_jobs WHERE queue = 'legal'",
        ] {
            #expect(try await tax.query(sql).affectedRows == 0, "\(sql)")
        }
        for sql in [
            "UPDATE cases SET task_force = 'legal' WHERE id = \(setup.taxCase)",  // pushing its own case out
            "UPDATE cases SET task_force = 'tax' WHERE id = \(setup.legalCase)",  // pulling a foreign one in
            "INSERT INTO queue_jobs (queue, kind, payload) VALUES ('legal', 'case', '{}')",
            "INSERT INTO queue_job_archive (id, queue, kind, payload, priority, state, attempt, max_attempts, errors, created_at, finished_at) VALUES (900002, 'legal', 'case', '{}', 0, 'completed', 1, 1, '[]', now(), now())",
            "UPDATE queue_job_archive SET payload = '{}'",
            "DELETE FROM queue_job_archive",
            "INSERT INTO case_events (case_id, type, actor) VALUES (\(setup.legalCase), 'resolved', 'forger')",
            "INSERT INTO resolutions (case_id, job_id, attempt, escalation_level, outcome, summary, handler, worker, handler_seconds, case_age_seconds) VALUES (\(setup.legalCase), 999, 1, 0, 'resolved', 's', 'h', 'w', 0, 0)",
            "SELECT * FROM routing_corrections",
            "SELECT * FROM dashboard.task_forces",
            "SELECT dashboard.refresh()",
            "SELECT public.caller_may_act_for('legal')",
            "SELECT nextval('cases_id_seq')",
            "SELECT nextval('queue_jobs_id_seq')",
            "SELECT * FROM queue_leader",
        ] {
            let error = await #expect(throws: PostgresError.self, "\(sql)") { try await tax.query(sql) }
            #expect(error?.isInsufficientPrivilege == true, "\(sql): \(error.map(String.init(describing:)) ?? "")")
        }
        // The definer functions: a foreign case is refused with the same words as a missing one.
        let foreign = await #expect(throws: PostgresError.self) { try await tax.query(Self.redispatch, parameters: Self.grab(setup.legalCase)) }
        let missing = await #expect(throws: PostgresError.self) { try await tax.query(Self.redispatch, parameters: Self.grab(987_654_321)) }
        #expect(foreign?.isInsufficientPrivilege == true)
        #expect(foreign?.message.replacingOccurrences(of: "\(setup.legalCase)", with: "N") == missing?.message.replacingOccurrences(of: "987654321", with: "N"))
        let triage = await #expect(throws: PostgresError.self) {
            try await tax.query("SELECT public.case_to_triage($1, NULL, 'grab', 'x')", setup.legalCase)
        }
        #expect(triage?.isInsufficientPrivilege == true)
        #expect(try await setup.legalCaseFingerprint() == before)
    }

    @Test("keys and ids another task force's next jobs need cannot be planted, nor intake's columns rewritten")
    func nothingToPlant() async throws {
        let setup = try await Self.setUp("attack_plant")
        defer { Task { await setup.owner.close() } }
        let before = try await setup.legalCaseFingerprint()
        let nextJob = try #require(try await setup.owner.query("SELECT max(id) + 1 FROM queue_jobs").first?.decode(0, as: Int64.self))
        let tax = try await setup.taxSession()
        defer { Task { await tax.close() } }
        for sql in [
            // the key of legal's next escalation, in its own queue: with the foreign case in the payload…
            "INSERT INTO queue_jobs (queue, kind, payload, unique_key, state, run_at) VALUES ('tax', 'case', '{\"case_id\": \(setup.legalCase)}', 'case:\(setup.legalCase):1', 'scheduled', now() + interval '10 years')",
            // …or with its own case in the payload
            "INSERT INTO queue_jobs (queue, kind, payload, unique_key) VALUES ('tax', 'case', '{\"case_id\": \(setup.taxCase)}', 'case:\(setup.legalCase):1')",
            "INSERT INTO queue_jobs (queue, kind, payload, unique_key) VALUES ('tax', 'other', '{}', 'anything')",
            // the archive id of the next job anyone completes
            "INSERT INTO queue_job_archive (id, queue, kind, payload, priority, state, attempt, max_attempts, errors, created_at, finished_at) VALUES (\(nextJob), 'tax', 'case', '{}', 0, 'completed', 1, 1, '[]', now(), now() + interval '70 years')",
            // a resolution holding the next job's id, on its own case
            "INSERT INTO resolutions (case_id, job_id, attempt, escalation_level, outcome, summary, handler, worker, handler_seconds, case_age_seconds) VALUES (\(setup.taxCase), \(nextJob), 1, 0, 'resolved', 's', 'h', 'w', 0, 0)",
            // an external id a later import of someone else's problem will carry
            "UPDATE cases SET external_id = 'HOTLINE-2026-000123' WHERE id = \(setup.taxCase)",
            "UPDATE cases SET text = 'rewritten' WHERE id = \(setup.taxCase)",
        ] {
            let error = await #expect(throws: PostgresError.self, "\(sql)") { try await tax.query(sql) }
            #expect(error?.isInsufficientPrivilege == true, "\(sql): \(error.map(String.init(describing:)) ?? "")")
        }
        // Its own work still goes through: an escalation job for its own case, with its key.
        try await tax.query("INSERT INTO queue_jobs (queue, kind, payload, unique_key) VALUES ('tax', 'case', $1::jsonb, $2)",
                            "{\"case_id\": \(setup.taxCase), \"level\": 1}", "case:\(setup.taxCase):1")
        #expect(try await setup.legalCaseFingerprint() == before)
    }

    @Test("case_redispatch refuses arguments outside the policy, even for the caller's own case")
    func redispatchValidatesArguments() async throws {
        let setup = try await Self.setUp("attack_args")
        defer { Task { await setup.owner.close() } }
        let tax = try await setup.taxSession()
        defer { Task { await tax.close() } }
        let due = Date().addingTimeInterval(86_400)
        let cases: [(String, [any PostgresEncodable])] = [
            ("to triage", [setup.taxCase, Optional<Int64>.none, "triage", "corrected", "rerouted", "r", "w", 0, due, due, "r"]),
            ("to an unknown task force", [setup.taxCase, Optional<Int64>.none, "nowhere", "corrected", "rerouted", "r", "w", 0, due, due, "r"]),
            ("a forged event type", [setup.taxCase, Optional<Int64>.none, "legal", "corrected", "resolved", "r", "w", 0, due, due, "r"]),
            ("an impossible level", [setup.taxCase, Optional<Int64>.none, "legal", "corrected", "rerouted", "r", "w", 7, due, due, "r"]),
            ("a deadline years away", [setup.taxCase, Optional<Int64>.none, "legal", "corrected", "rerouted", "r", "w", 0,
                                       due.addingTimeInterval(5 * 365 * 86_400), due, "r"]),
            ("an empty reason", [setup.taxCase, Optional<Int64>.none, "legal", "corrected", "rerouted", "", "w", 0, due, due, "r"]),
            ("a jump up the chain", [setup.taxCase, Optional<Int64>.none, "legal", "corrected", "rerouted", "r", "w", 2, due, due, "r"]),
            ("a deadline already past", [setup.taxCase, Optional<Int64>.none, "legal", "corrected", "rerouted", "r", "w", 0,
                                         Date().addingTimeInterval(-3600), Date().addingTimeInterval(-7200), "r"]),
        ]
        for (what, arguments) in cases {
            let error = await #expect(throws: PostgresError.self, "\(what)") { try await tax.query(Self.redispatch, parameters: arguments) }
            #expect(error?.sqlState == "22023", "\(what): \(error.map(String.init(describing:)) ?? "")")
        }
        // Priority and unique key are the function's: a valid move gets the policy's priority.
        let row = try await tax.query(Self.redispatch, parameters: [setup.taxCase, Optional<Int64>.none, "legal", "corrected", "rerouted",
                                                                    "litigation", "tax-w", 0, due, due.addingTimeInterval(-60), "r"]).first
        let job = try #require(try row?.decode(0, as: Int64?.self))
        let queued = try #require(try await setup.owner.query("SELECT priority, unique_key FROM queue_jobs WHERE id = $1", job).first)
        #expect(try queued.decode(0, as: Int.self) == 0)
        #expect(try queued.decode(1, as: String.self) == "case:\(setup.taxCase):0:r1")
    }

    @Test("the ledger records the writer's login whatever actor it claims, and a move's actor is the caller's login")
    func actorCannotBeForged() async throws {
        let setup = try await Self.setUp("attack_actor")
        defer { Task { await setup.owner.close() } }
        let tax = try await setup.taxSession()
        defer { Task { await tax.close() } }
        // A department may append to its own case's ledger, but cannot sign as someone else.
        try await tax.query("INSERT INTO case_events (case_id, type, actor, login) VALUES ($1, 'deadline_warning', 'operator:alice', 'postgres')", setup.taxCase)
        let forged = try #require(try await setup.owner.query(
            "SELECT actor, login::text FROM case_events WHERE case_id = $1 AND type = 'deadline_warning'", setup.taxCase).first)
        #expect(try forged.decode(0, as: String.self) == "operator:alice")
        #expect(try forged.decode(1, as: String.self) == setup.tax.name)
        // A move through case_redispatch is signed by the caller's login; its label is only `via`.
        _ = try await Shared.lifecycle.redispatch(.init(
            caseID: setup.taxCase, to: .legal, level: 0, urgent: false, kind: nil,
            deadlineFrom: Date(), source: "corrected", event: .rerouted, reason: "litigation", actor: "operator:alice"),
            fromJob: nil, on: tax)
        let moved = try #require(try await setup.owner.query(
            "SELECT actor, login::text, data->>'via' FROM case_events WHERE case_id = $1 AND type = 'rerouted'", setup.taxCase).first)
        #expect(try moved.decode(0, as: String.self) == setup.tax.name)
        #expect(try moved.decode(1, as: String.self) == setup.tax.name)
        #expect(try moved.decode(2, as: String.self) == "operator:alice")
        let correction = try #require(try await setup.owner.query("SELECT actor, login::text FROM routing_corrections WHERE case_id = $1", setup.taxCase).first)
        #expect(try correction.decode(0, as: String.self) == setup.tax.name)
        #expect(try correction.decode(1, as: String.self) == setup.tax.name)
    }

    @Test("a redispatch cancels the case's current job itself, so no stale job of the old task force stays runnable")
    func redispatchCancelsTheCurrentJob() async throws {
        let setup = try await Self.setUp("attack_cancel")
        defer { Task { await setup.owner.close() } }
        let dispatcher = try await PostgresConnection.connect(try await TestDatabase.login(["taskforce_dispatcher"], on: setup.database).configuration)
        defer { Task { await dispatcher.close() } }
        let due = Date().addingTimeInterval(86_400)
        _ = try await dispatcher.query(Self.redispatch, parameters: [setup.legalCase, Optional<Int64>.none, "credit", "corrected", "rerouted",
                                                                     "owed money", "operator", 0, due, due.addingTimeInterval(-60), "r"])
        #expect(try await setup.owner.query("SELECT state::text FROM queue_jobs WHERE id = $1", setup.legalJob).first?.decode(0, as: String.self) == "cancelled")
    }
}
