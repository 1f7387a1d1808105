import Foundation
import CaseLedger
import PostgresClient
import QueueCore
import TaskForces
import Testing

@Suite("Intake and the case ledger")
struct IntakeTests {
    @Test("a submitted case is stored with its ledger events and a job in its task force's queue, in one transaction")
    func submitCreatesCaseEventsAndJob() async throws {
        let fixture = try await LedgerFixture.make("submit")
        defer { Task { await fixture.close() } }
        let outcome = try await fixture.submit([CaseInput(
            text: "Our VAT export rebate of RMB 800,000 has not been paid by the tax bureau for five months",
            enterprise: "Acme Valves", channel: .hotline, externalID: "hl-1")])[0]
        #expect(outcome.disposition == .created)
        #expect(outcome.taskForce == .tax)
        #expect(outcome.jobID != nil)
        let record = try #require(try await CaseOperations.record(outcome.caseID, on: fixture.connection))
        #expect(record.state == .open)
        #expect(record.currentJobID == outcome.jobID)
        #expect(record.dueAt != nil && record.dueAt == record.originalDueAt)
        #expect(record.events.map(\.type) == ["received", "classified", "deadline_set", "enqueued"])
        let job = try #require(try await JobQueue.record(outcome.jobID!, on: fixture.connection))
        #expect(job.queue == "tax")
        #expect(job.kind == CaseJob.kind)
        #expect(try JSONDecoder().decode(CaseJob.self, from: Data(job.payload.utf8)) == CaseJob(caseID: outcome.caseID, level: 0))
    }

    @Test("the ledger is append-only: updates and deletes are refused by the database")
    func ledgerIsAppendOnly() async throws {
        let fixture = try await LedgerFixture.make("append_only")
        defer { Task { await fixture.close() } }
        _ = try await fixture.submit([CaseInput(text: "工厂停电两天了，急需恢复供电")])
        let update = await #expect(throws: PostgresError.self) { try await fixture.connection.query("UPDATE case_events SET actor = 'forger'") }
        #expect(update?.isInsufficientPrivilege == true)
        await #expect(throws: PostgresError.self) { try await fixture.connection.query("DELETE FROM case_events") }
        #expect(try await fixture.count("SELECT count(*) FROM case_events WHERE actor = 'forger'") == 0)
    }

    @Test("a business-scope change gets the policy's 3-hour limit and a business licence 48 hours")
    func deadlinesByKind() async throws {
        let fixture = try await LedgerFixture.make("kinds")
        defer { Task { await fixture.close() } }
        let received = Date(timeIntervalSince1970: 1_780_000_000)
        let outcomes = try await fixture.submit([
            CaseInput(text: "申请经营范围变更，增加医疗器械销售", taskForce: .infrastructure, receivedAt: received),
            CaseInput(text: "Applying for a business licence for our new clinic", taskForce: .innovation, receivedAt: received),
        ])
        #expect(outcomes[0].kind == "business_scope_change")
        #expect(outcomes[0].dueAt == received.addingTimeInterval(3 * 3600))
        #expect(outcomes[1].kind == "business_licence")
        #expect(outcomes[1].dueAt == received.addingTimeInterval(48 * 3600))
    }

    @Test("an unsure or off-topic problem goes to triage without a job")
    func triageHasNoJob() async throws {
        let fixture = try await LedgerFixture.make("triage")
        defer { Task { await fixture.close() } }
        let outcome = try await fixture.submit([CaseInput(text: "你好，请问你们几点下班？")])[0]
        #expect(outcome.taskForce == .triage)
        #expect(outcome.jobID == nil)
        let backlog = try await CaseOperations.triageBacklog(on: fixture.connection)
        #expect(backlog.map(\.id) == [outcome.caseID])
    }

    @Test("a repeated demand from the same enterprise is linked to the open case, without a second job")
    func repeatedDemandIsMerged() async throws {
        let fixture = try await LedgerFixture.make("repeat")
        defer { Task { await fixture.close() } }
        let text = "我们的留抵退税申请已经提交两个月了，一直没有到账，请税务局尽快处理。"
        let first = try await fixture.submit([CaseInput(text: text, enterprise: "沈阳华晨配件有限公司")])[0]
        let batch = try await fixture.submit([
            CaseInput(text: text + "谢谢！", enterprise: "沈阳华晨配件有限公司", channel: .app),
            CaseInput(text: text, enterprise: "另一家公司"),
        ])
        #expect(batch[0].disposition == .merged)
        #expect(batch[0].caseID == first.caseID)
        #expect(batch[1].disposition == .created)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 2)
        let original = try #require(try await CaseOperations.record(first.caseID, on: fixture.connection))
        #expect(original.repeatCount == 1)
        #expect(original.events.last?.type == "repeated")
        #expect(try await fixture.count("SELECT count(*) FROM cases WHERE state = 'merged' AND duplicate_of = $1", first.caseID) == 1)
    }

    @Test("submitting the same external id twice creates nothing new")
    func externalIDIsIdempotent() async throws {
        let fixture = try await LedgerFixture.make("external")
        defer { Task { await fixture.close() } }
        let input = CaseInput(text: "Power cut at our plant in Tiexi since this morning", externalID: "ext-7")
        let first = try await fixture.submit([input])[0]
        let again = try await fixture.submit([input, input])
        #expect(again.map(\.disposition) == [.duplicateExternalID, .duplicateExternalID])
        #expect(again.allSatisfy { $0.caseID == first.caseID })
        #expect(try await fixture.count("SELECT count(*) FROM cases") == 1)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 1)
    }

    @Test("bad input is refused with a reason naming the field")
    func badInput() throws {
        #expect(throws: TaskForcesError.self) { try Shared.intake.prepare(CaseInput(text: "   ")) }
        #expect(throws: TaskForcesError.self) { try Shared.intake.prepare(CaseInput(text: String(repeating: "税", count: 20_001))) }
        #expect(throws: TaskForcesError.self) { try Shared.intake.prepare(CaseInput(text: "a\u{0}b")) }
        #expect(throws: CaseError.self) { try Shared.intake.prepare(CaseInput(text: "refund", kind: "no_such_kind")) }
        #expect(throws: CaseError.self) { try CaseChannel(parsing: "fax") }
        #expect(throws: TaskForcesError.self) { try TaskForce(parsing: "police") }
    }

    @Test("status counts cases per task force and the triage backlog")
    func status() async throws {
        let fixture = try await LedgerFixture.make("status")
        defer { Task { await fixture.close() } }
        _ = try await fixture.submit([
            CaseInput(text: "x", taskForce: .tax), CaseInput(text: "y", taskForce: .tax),
            CaseInput(text: "z", taskForce: .legal), CaseInput(text: "w", taskForce: .triage),
        ])
        let status = try await CaseOperations.status(on: fixture.connection)
        #expect(status.taskForces["tax"]?.open == 2)
        #expect(status.taskForces["legal"]?.open == 1)
        #expect(status.taskForces["credit"] == TaskForceStatus())
        #expect(status.triage == 1)
        #expect(Set(status.taskForces.keys) == Set(TaskForce.departments.map(\.rawValue)))
    }
}

@Suite("Reroute, triage assignment and cancel")
struct RerouteTests {
    @Test("reroute moves the case to the other queue, fences the old job and keeps the correction")
    func rerouteLandsInOtherQueue() async throws {
        let fixture = try await LedgerFixture.make("reroute")
        defer { Task { await fixture.close() } }
        let outcome = try await fixture.submit([CaseInput(text: "合同纠纷，对方拒不履行判决", taskForce: .credit)])[0]
        let oldJob = try #require(outcome.jobID)
        // A worker already holds the old job.
        let held = try await JobQueue.claim(queues: ["credit"], limit: 1, lease: .seconds(30), worker: "w", on: fixture.connection)
        #expect(held.map(\.id) == [oldJob])
        let newJob = try await Shared.lifecycle.reroute(
            outcome.caseID, to: .legal, reason: "court enforcement is legal", actor: "tester", on: fixture.connection)
        #expect(try await JobQueue.record(newJob, on: fixture.connection)?.queue == "legal")
        #expect(try await JobQueue.record(oldJob, on: fixture.connection)?.state == .cancelled)
        #expect(try await JobQueue.complete(held.map(\.lease), on: fixture.connection).isEmpty)
        let record = try #require(try await CaseOperations.record(outcome.caseID, on: fixture.connection))
        #expect(record.taskForce == .legal)
        #expect(record.routingSource == "corrected")
        // The move is signed by the database login; the operator's name is kept as `via`.
        #expect(record.events.contains { $0.type == "rerouted" && $0.actor == $0.login && $0.data.contains("\"via\": \"tester\"") })
        let corrections = try await CaseOperations.corrections(on: fixture.connection)
        #expect(corrections == [LabelledExample(text: "合同纠纷，对方拒不履行判决", label: .legal)])
    }

    @Test("a triage case assigned by hand gets a job and counts as a labelled example")
    func assignFromTriage() async throws {
        let fixture = try await LedgerFixture.make("assign")
        defer { Task { await fixture.close() } }
        let outcome = try await fixture.submit([CaseInput(text: "有个事想咨询一下", taskForce: .triage)])[0]
        let job = try await Shared.lifecycle.reroute(
            outcome.caseID, to: .financing, reason: "caller explained: loan extension", actor: "tester", on: fixture.connection)
        #expect(try await JobQueue.record(job, on: fixture.connection)?.queue == "financing")
        let record = try #require(try await CaseOperations.record(outcome.caseID, on: fixture.connection))
        #expect(record.state == .open)
        #expect(record.routingSource == "manual")
        #expect(record.events.contains { $0.type == "assigned" })
    }

    @Test("a finished case cannot be rerouted, and an unknown one is reported")
    func rerouteRefusals() async throws {
        let fixture = try await LedgerFixture.make("reroute_refused")
        defer { Task { await fixture.close() } }
        let outcome = try await fixture.submit([CaseInput(text: "x", taskForce: .tax)])[0]
        try await Shared.lifecycle.cancel(outcome.caseID, reason: "withdrawn", actor: "tester", on: fixture.connection)
        await #expect(throws: CaseError.self) {
            try await Shared.lifecycle.reroute(outcome.caseID, to: .legal, reason: "r", actor: "t", on: fixture.connection)
        }
        await #expect(throws: CaseError.noSuchCase(424_242)) {
            try await Shared.lifecycle.cancel(424_242, reason: "r", actor: "t", on: fixture.connection)
        }
        #expect(try await JobQueue.record(outcome.jobID!, on: fixture.connection)?.state == .cancelled)
    }
}
