import CaseLedger
import Foundation
import PostgresClient
import PostgresTestSupport
import TaskForces
import Testing

/// The casework of people (docs/casework.md), each step performed as it is deployed: an
/// officer of the case's task force, an operator, a leader and the maintainer each under
/// their own login, with row-level security deciding what each may see and do.
@Suite("Casework by people, under their own logins")
struct CaseworkTests {
    static let casework = Casework(policy: Shared.policy, calendar: Shared.calendar)

    struct Centre {
        let database: PostgresConfiguration
        let owner: PostgresConnection
        let taxCase: Int64
        let legalCase: Int64

        /// A fresh login in `role`, connected.
        func login(_ role: String) async throws -> (name: String, connection: PostgresConnection) {
            let login = try await TestDatabase.login([role], on: database)
            return (login.name, try await PostgresConnection.connect(login.configuration))
        }

        func state(_ caseID: Int64) async throws -> String {
            try await owner.query("SELECT state::text FROM cases WHERE id = $1", caseID).firstRow().decode(0)
        }

        func events(_ caseID: Int64, after: Int64 = 0) async throws -> [(type: String, actor: String)] {
            try await owner.query("SELECT type, actor FROM case_events WHERE case_id = $1 AND id > $2 ORDER BY id", caseID, after)
                .map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)) }
        }

        func lastEventID() async throws -> Int64 {
            try await owner.query("SELECT coalesce(max(id), 0)::bigint FROM case_events").firstRow().decode(0)
        }

        func execute(_ sql: String, _ parameters: any PostgresEncodable...) async throws {
            try await owner.query(sql, parameters: parameters)
        }

        func close() async { await owner.close() }
    }

    /// A tax case and a legal case, each escalated past its handlers to the people of the top level.
    static func centre(_ label: String) async throws -> Centre {
        let database = try await TestDatabase.create(label)
        let owner = try await PostgresConnection.connect(database)
        let prepared = try [
            CaseInput(text: "留抵退税三个月没到账，金额较大", taskForce: .tax),
            CaseInput(text: "合同纠纷起诉，对方拖欠货款", taskForce: .legal),
        ].map { try Shared.intake.prepare($0) }
        let outcomes = try await owner.transaction { try await Shared.intake.store(prepared, on: $0) }
        for outcome in outcomes {
            try await owner.transaction { tx in
                var events = LedgerBatch(actor: "deadline-enforcer")
                for _ in 0..<2 {
                    try await Shared.lifecycle.escalate(outcome.caseID, fromJob: nil, reason: "nobody solved it", events: &events, on: tx)
                }
                try await events.write(on: tx)
            }
        }
        return Centre(database: database, owner: owner, taxCase: outcomes[0].caseID, legalCase: outcomes[1].caseID)
    }

    static func error(_ body: () async throws -> some Any) async -> CaseError? {
        do { _ = try await body(); return nil } catch let error as CaseError { return error } catch { return nil }
    }

    // MARK: The way of a case

    @Test("held for people at the top: sign-off, suspend, resume, answer, callback closes it — each event by its login")
    func wholeWay() async throws {
        let centre = try await Self.centre("casework_way")
        let (officerName, officer) = try await centre.login("taskforce_officer_tax")
        let (operatorName, desk) = try await centre.login("taskforce_dispatcher")
        defer { Task { await officer.close(); await desk.close(); await centre.close() } }
        let id = centre.taxCase

        // Held: no job, both clocks set, the sign-off clock the earlier.
        let held = try await centre.owner.query(
            "SELECT state::text, current_job_id, signoff_due_at, due_at, escalation_level FROM cases WHERE id = $1", id).firstRow()
        #expect(try held.decode(0, as: String.self) == "signoff")
        #expect(try held.decode(1, as: Int64?.self) == nil)
        let signoffDue = try held.decode(2, as: Date.self)
        let solutionDue = try held.decode(3, as: Date.self)
        #expect(signoffDue < solutionDue)
        #expect(try held.decode(4, as: Int.self) == 2)
        #expect(try await centre.events(id).map(\.type).contains("held_for_people"))

        // The officer's inbox shows it; the tax officer's does not show the legal case.
        let inbox = try await CaseworkInbox.read(state: nil, limit: 50, on: officer)
        #expect(inbox.cases.map(\.id) == [id])

        let mark = try await centre.lastEventID()
        #expect(try await Self.casework.signOff(id, on: officer).state == "working")
        let until = Date().addingTimeInterval(3600)
        #expect(try await Self.casework.suspend(id, until: until, reason: "waiting for the enterprise's bank statement", on: officer).state == "suspended")
        let paused = try await centre.owner.query("SELECT paused_at, resume_at, suspend_count FROM cases WHERE id = $1", id).firstRow()
        #expect(try paused.decode(0, as: Date?.self) != nil)
        #expect(try paused.decode(2, as: Int.self) == 1)
        #expect(try await Self.casework.resume(id, on: officer).state == "working")
        let answer = try await Self.casework.answer(id, text: "您好，退税已于今日到账。", drafted: true, on: officer)
        #expect(answer.state == "answered")
        let stored = try await centre.owner.query("SELECT round, language, answered_by, on_time FROM case_answers WHERE case_id = $1", id).firstRow()
        #expect(try stored.decode(0, as: Int.self) == 0)
        #expect(try stored.decode(1, as: String.self) == "zh-Hans")
        #expect(try stored.decode(2, as: String.self) == officerName)
        #expect(try stored.decode(3, as: Bool.self))

        let callback = try await Self.casework.recordCallback(id, satisfaction: .basicallySatisfied, note: "还行", on: desk)
        #expect(callback.state == "closed")
        #expect(try await centre.state(id) == "closed")

        let trail = try await centre.events(id, after: mark)
        #expect(trail.map(\.type) == ["signed_off", "suspended", "resumed", "answered", "callback_recorded", "closed"])
        #expect(trail.prefix(4).allSatisfy { $0.actor == officerName })
        #expect(trail.suffix(2).allSatisfy { $0.actor == operatorName })
    }

    @Test("unsatisfied at the callback: a redo round at the same task force and level, with new clocks")
    func unsatisfiedMeansRedo() async throws {
        let centre = try await Self.centre("casework_redo")
        let (_, officer) = try await centre.login("taskforce_officer_tax")
        let (_, desk) = try await centre.login("taskforce_dispatcher")
        defer { Task { await officer.close(); await desk.close(); await centre.close() } }
        let id = centre.taxCase
        _ = try await Self.casework.signOff(id, on: officer)
        _ = try await Self.casework.answer(id, text: "已转交税务局处理。", drafted: false, on: officer)
        // The first round's clocks lie in the past now, as after a long week.
        try await centre.execute("UPDATE cases SET signoff_due_at = now() - interval '3 days', due_at = now() - interval '1 day' WHERE id = $1", id)

        let redo = try await Self.casework.recordCallback(id, satisfaction: .unsatisfied, note: "钱还没到", on: desk)
        #expect(redo.state == "redo")
        let row = try await centre.owner.query(
            "SELECT task_force, escalation_level, redo_count, signoff_due_at, due_at FROM cases WHERE id = $1", id).firstRow()
        #expect(try row.decode(0, as: String.self) == "tax")
        #expect(try row.decode(1, as: Int.self) == 2)
        #expect(try row.decode(2, as: Int.self) == 1)
        #expect(try row.decode(3, as: Date.self) > Date())
        #expect(try row.decode(4, as: Date.self) > Date())
        #expect(try await centre.events(id).map(\.type).suffix(2) == ["callback_recorded", "redo"])

        // Round 1 is worked and answered like round 0; its callback is its own.
        _ = try await Self.casework.signOff(id, on: officer)
        _ = try await Self.casework.answer(id, text: "退税已到账，请查收。", drafted: false, on: officer)
        #expect(try await Self.casework.recordCallback(id, satisfaction: .satisfied, note: nil, on: desk).state == "closed")
        #expect(try await centre.owner.query("SELECT array_agg(satisfaction ORDER BY round) FROM case_answers WHERE case_id = $1", id)
            .firstRow().decode(0, as: [String].self) == ["unsatisfied", "satisfied"])
    }

    @Test("a misassigned case is returned to triage with its reason, and counted as a return")
    func returnToTriage() async throws {
        let centre = try await Self.centre("casework_return")
        let (officerName, officer) = try await centre.login("taskforce_officer_tax")
        defer { Task { await officer.close(); await centre.close() } }
        let result = try await Self.casework.returnToTriage(centre.taxCase, reason: "这是劳动争议，不是税务问题", on: officer)
        #expect(result.state == "triage")
        #expect(try await centre.state(centre.taxCase) == "triage")
        let returned = try await centre.owner.query(
            "SELECT actor, data->>'reason' FROM case_events WHERE case_id = $1 AND type = 'returned'", centre.taxCase).firstRow()
        #expect(try returned.decode(0, as: String.self) == officerName)
        #expect(try returned.decode(1, as: String.self) == "这是劳动争议，不是税务问题")
        // Once in triage, the officer no longer sees it.
        let error = await Self.error { try await Self.casework.signOff(centre.taxCase, on: officer) }
        #expect(error?.code == .noSuchCase)
    }

    @Test("co-handling: the lead cannot answer before its partners reply; the last reply puts the case back to work")
    func cohandling() async throws {
        let centre = try await Self.centre("casework_cohandling")
        let (_, tax) = try await centre.login("taskforce_officer_tax")
        let (legalName, legal) = try await centre.login("taskforce_officer_legal")
        let (_, credit) = try await centre.login("taskforce_officer_credit")
        defer { Task { await tax.close(); await legal.close(); await credit.close(); await centre.close() } }
        let id = centre.taxCase
        _ = try await Self.casework.signOff(id, on: tax)
        let asked = try await Self.casework.requestCohandling(id, partners: [.legal, .credit], question: "对方是否涉诉？", on: tax)
        #expect(asked.state == "cohandling")

        let early = await Self.error { try await Self.casework.answer(id, text: "答复", drafted: false, on: tax) }
        #expect(early?.code == .illegalTransition)
        #expect(early?.message.contains("co-handling") == true)

        // The partner sees the case it was asked about (and its request), but may not work it.
        #expect(try await legal.query("SELECT count(*) FROM cases WHERE id = $1", id).firstRow().decode(0, as: Int.self) == 1)
        let requests = try await CaseworkInbox.read(state: nil, limit: 50, on: legal).requests
        #expect(requests.map(\.caseID) == [id])
        let foreign = await Self.error { try await Self.casework.signOff(id, on: legal) }
        #expect(foreign?.code == .noSuchCase)
        // A partner cannot answer for another partner.
        let impostor = await Self.error { try await Self.casework.replyCohandling(id, as: .credit, reply: "无", on: legal) }
        #expect(impostor?.code == .noSuchCase)

        #expect(try await Self.casework.replyCohandling(id, as: .legal, reply: "未涉诉", on: legal).state == "cohandling")
        #expect(try await centre.state(id) == "cohandling")
        #expect(try await Self.casework.replyCohandling(id, as: .credit, reply: "信用良好", on: credit).state == "working")
        #expect(try await centre.state(id) == "working")
        #expect(try await centre.owner.query("SELECT replied_by FROM case_cohandling WHERE case_id = $1 AND task_force = 'legal'", id)
            .firstRow().decode(0, as: String.self) == legalName)
        #expect(try await Self.casework.answer(id, text: "经核实，已协调退税。", drafted: false, on: tax).state == "answered")
    }

    // MARK: Refusals

    @Test("illegal transitions are refused with the case's state and what to do, and change nothing")
    func illegalTransitions() async throws {
        let centre = try await Self.centre("casework_illegal")
        let (_, officer) = try await centre.login("taskforce_officer_tax")
        let (_, desk) = try await centre.login("taskforce_dispatcher")
        defer { Task { await officer.close(); await desk.close(); await centre.close() } }
        let id = centre.taxCase
        let mark = try await centre.lastEventID()

        // Waiting for sign-off: no answer, no suspension, no resumption, no callback, no co-handling.
        for (attempt, expected) in [
            ({ try await Self.casework.answer(id, text: "答复", drafted: false, on: officer) }, "sign it off first"),
            ({ try await Self.casework.suspend(id, until: Date().addingTimeInterval(600), reason: "等待", on: officer) }, "sign it off first"),
            ({ try await Self.casework.resume(id, on: officer) }, "not suspended"),
            ({ try await Self.casework.recordCallback(id, satisfaction: .satisfied, note: nil, on: desk) }, "only an answered case"),
            ({ try await Self.casework.requestCohandling(id, partners: [.legal], question: "?", on: officer) }, "sign it off first"),
        ] as [(() async throws -> CaseworkResult, String)] {
            let error = await Self.error(attempt)
            #expect(error?.code == .illegalTransition, "\(String(describing: error))")
            #expect(error?.message.contains("signoff") == true && error?.message.contains(expected) == true, "\(String(describing: error?.message))")
        }
        #expect(try await centre.events(id, after: mark).isEmpty)
        #expect(try await centre.state(id) == "signoff")

        _ = try await Self.casework.signOff(id, on: officer)
        let twice = await Self.error { try await Self.casework.signOff(id, on: officer) }
        #expect(twice?.code == .illegalTransition)
        // A suspension past the policy's bound, or without a reason, is refused; so is a third one.
        let tooLong = await Self.error {
            try await Self.casework.suspend(id, until: Date().addingTimeInterval(60 * 86400), reason: "等待", on: officer)
        }
        #expect(tooLong?.code == .invalidInput && tooLong?.field == "until")
        let noReason = await Self.error { try await Self.casework.suspend(id, until: Date().addingTimeInterval(600), reason: "  ", on: officer) }
        #expect(noReason?.code == .invalidInput && noReason?.field == "reason")
        for _ in 0..<2 {
            _ = try await Self.casework.suspend(id, until: Date().addingTimeInterval(600), reason: "等待材料", on: officer)
            _ = try await Self.casework.resume(id, on: officer)
        }
        let third = await Self.error { try await Self.casework.suspend(id, until: Date().addingTimeInterval(600), reason: "再等", on: officer) }
        #expect(third?.code == .invalidInput)
        #expect(third?.message.contains("suspended 2 times already") == true)
        // Co-handling with oneself is no co-handling.
        let own = await Self.error { try await Self.casework.requestCohandling(id, partners: [.tax], question: "?", on: officer) }
        #expect(own?.code == .invalidInput && own?.field == "with")
    }

    // MARK: Who may do what

    @Test("row-level security: a tax officer cannot touch a legal case; an officer records no callback and supervises nothing")
    func rolesDecide() async throws {
        let centre = try await Self.centre("casework_roles")
        let (_, tax) = try await centre.login("taskforce_officer_tax")
        let (leaderName, leader) = try await centre.login("taskforce_leader")
        defer { Task { await tax.close(); await leader.close(); await centre.close() } }

        let foreign = await Self.error { try await Self.casework.signOff(centre.legalCase, on: tax) }
        #expect(foreign?.code == .noSuchCase)
        #expect(try await tax.query("SELECT count(*) FROM cases WHERE id = $1", centre.legalCase).firstRow().decode(0, as: Int.self) == 0)
        #expect(try await centre.state(centre.legalCase) == "signoff")

        _ = try await Self.casework.signOff(centre.taxCase, on: tax)
        _ = try await Self.casework.answer(centre.taxCase, text: "答复", drafted: false, on: tax)
        let callback = await Self.error { try await Self.casework.recordCallback(centre.taxCase, satisfaction: .satisfied, note: nil, on: tax) }
        #expect(callback?.code == .notPermitted, "\(String(describing: callback))")
        let supervise = await Self.error { try await Self.casework.supervise(centre.legalCase, note: "尽快", on: tax) }
        #expect(supervise?.code == .noSuchCase || supervise?.code == .notPermitted)

        // A leader sees every task force's cases, supervises and chases them, counted — and works none.
        #expect(try await Self.casework.supervise(centre.legalCase, note: "本周内办结", on: leader).state == "signoff")
        #expect(try await Self.casework.chase(centre.legalCase, note: "请尽快签收", on: leader).message.contains("1 time"))
        #expect(try await Self.casework.chase(centre.legalCase, note: "再次催办", on: leader).message.contains("2 times"))
        let counts = try await centre.owner.query("SELECT supervised_count, chased_count FROM cases WHERE id = $1", centre.legalCase).firstRow()
        #expect(try counts.decode(0, as: Int.self) == 1 && counts.decode(1, as: Int.self) == 2)
        #expect(try await centre.events(centre.legalCase).filter { $0.actor == leaderName }.map(\.type) == ["supervised", "chased", "chased"])
        let work = await Self.error { try await Self.casework.signOff(centre.legalCase, on: leader) }
        #expect(work?.code == .notPermitted, "\(String(describing: work))")
        // Forging the ledger directly is refused too: an officer writes no leader's events, nor under another name.
        for statement in [
            "INSERT INTO case_events (case_id, type, actor) VALUES (\(centre.taxCase), 'supervised', session_user)",
            "INSERT INTO case_events (case_id, type, actor) VALUES (\(centre.taxCase), 'signed_off', 'someone_else')",
        ] {
            let error = await #expect(throws: PostgresError.self) { try await tax.query(statement) }
            #expect(error?.isInsufficientPrivilege == true, "\(statement)")
        }
    }

    // MARK: The sweep

    @Test("a top-level case that breaches both clocks is supervised once per clock, however often the sweep runs")
    func breachesAreSupervisedOnce() async throws {
        let centre = try await Self.centre("casework_breach")
        let (_, maintainer) = try await centre.login("taskforce_maintainer")
        defer { Task { await maintainer.close(); await centre.close() } }
        let id = centre.taxCase
        try await centre.execute("UPDATE cases SET signoff_due_at = now() - interval '1 minute', due_at = now() - interval '1 second' WHERE id = $1", id)

        let first = try await Self.casework.sweep(batch: 100, on: maintainer)
        #expect(first.signoffBreaches == 1 && first.solutionBreaches == 1)
        let second = try await Self.casework.sweep(batch: 100, on: maintainer)
        #expect(second.signoffBreaches == 0 && second.solutionBreaches == 0)
        #expect(try await centre.owner.query(
            "SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'supervised' AND (data->>'automatic')::boolean", id)
            .firstRow().decode(0, as: Int.self) == 2)
        #expect(try await centre.owner.query("SELECT supervised_count FROM cases WHERE id = $1", id).firstRow().decode(0, as: Int.self) == 2)
        // Still the people's: a breach at the top raises supervision, it does not end the case.
        #expect(try await centre.state(id) == "signoff")
        // The legal case's clocks have not run out: untouched.
        #expect(try await centre.owner.query("SELECT supervised_count FROM cases WHERE id = $1", centre.legalCase)
            .firstRow().decode(0, as: Int.self) == 0)
    }

    @Test("the sweep resumes a suspension at its bound (the pause ends there) and puts due callbacks on the desk")
    func sweepResumesAndCallsBack() async throws {
        let centre = try await Self.centre("casework_sweep")
        let (_, tax) = try await centre.login("taskforce_officer_tax")
        let (_, legal) = try await centre.login("taskforce_officer_legal")
        let (_, maintainer) = try await centre.login("taskforce_maintainer")
        defer { Task { await tax.close(); await legal.close(); await maintainer.close(); await centre.close() } }

        _ = try await Self.casework.signOff(centre.taxCase, on: tax)
        _ = try await Self.casework.suspend(centre.taxCase, until: Date().addingTimeInterval(3600), reason: "等待企业补充材料", on: tax)
        try await centre.execute("UPDATE cases SET resume_at = now() - interval '1 second' WHERE id = $1", centre.taxCase)
        _ = try await Self.casework.signOff(centre.legalCase, on: legal)
        _ = try await Self.casework.answer(centre.legalCase, text: "已协调法院立案。", drafted: false, on: legal)
        try await centre.execute("UPDATE cases SET callback_due_at = now() - interval '1 second' WHERE id = $1", centre.legalCase)

        let sweep = try await Self.casework.sweep(batch: 100, on: maintainer)
        #expect(sweep.resumed == 1 && sweep.callbacksDue == 1)
        #expect(try await centre.state(centre.taxCase) == "working")
        #expect(try await centre.state(centre.legalCase) == "callback_due")
        let resumed = try await centre.owner.query(
            "SELECT (data->>'automatic')::boolean FROM case_events WHERE case_id = $1 AND type = 'resumed'", centre.taxCase).firstRow()
        #expect(try resumed.decode(0, as: Bool.self))
        #expect(try await Self.casework.sweep(batch: 100, on: maintainer) == CaseworkSweep())
    }

    // MARK: KPIs

    @Test("the month's KPIs count sign-offs, answers, satisfaction, returns and redos per task force")
    func kpis() async throws {
        let centre = try await Self.centre("casework_kpis")
        let (_, tax) = try await centre.login("taskforce_officer_tax")
        let (_, legal) = try await centre.login("taskforce_officer_legal")
        let (_, desk) = try await centre.login("taskforce_dispatcher")
        let (_, leader) = try await centre.login("taskforce_leader")
        defer { Task { await tax.close(); await legal.close(); await desk.close(); await leader.close(); await centre.close() } }
        _ = try await Self.casework.signOff(centre.taxCase, on: tax)
        _ = try await Self.casework.answer(centre.taxCase, text: "答复", drafted: true, on: tax)
        _ = try await Self.casework.recordCallback(centre.taxCase, satisfaction: .unsatisfied, note: nil, on: desk)
        _ = try await Self.casework.returnToTriage(centre.legalCase, reason: "不属于法律服务", on: legal)

        let rows = try await CaseworkKPI.read(month: nil, on: leader)
        let taxRow = try #require(rows.first { $0.taskForce == "tax" })
        #expect(taxRow.held == 1 && taxRow.signoffs == 1 && taxRow.signoffsOnTime == 1)
        #expect(taxRow.answers == 1 && taxRow.callbacks == 1 && taxRow.unsatisfied == 1 && taxRow.redos == 1)
        #expect(taxRow.satisfactionRate == 0 && taxRow.redoRate == 1)
        let legalRow = try #require(rows.first { $0.taskForce == "legal" })
        #expect(legalRow.returns == 1 && legalRow.returnRate == 1)
    }
}
