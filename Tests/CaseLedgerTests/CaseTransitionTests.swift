import CaseLedger
import Foundation
import TaskForces
import Testing

/// The rules of a case's life, without a database: ``CaseTransition/decide(_:for:)``.
@Suite("Case transitions")
struct CaseTransitionTests {
    static func open(level: Int = 0, job: Int64? = 7, taskForce: TaskForce = .tax) -> CaseSnapshot {
        CaseSnapshot(id: 1, taskForce: taskForce, state: .open, currentJobID: job, level: level)
    }

    @Test("a handler's escalation raises the level and leaves its own job alone")
    func handlerEscalates() throws {
        #expect(try CaseTransition.decide(.escalate(fromJob: 7), for: Self.open()) == .escalate(toLevel: 1, cancelJob: nil))
        #expect(try CaseTransition.decide(.escalate(fromJob: 7), for: Self.open(level: 1)) == .escalate(toLevel: 2, cancelJob: nil))
    }

    @Test("a deadline breach escalates and cancels the case's pending job")
    func breachEscalates() throws {
        #expect(try CaseTransition.decide(.escalate(fromJob: nil), for: Self.open()) == .escalate(toLevel: 1, cancelJob: 7))
    }

    @Test("at the top of the chain the case goes to the task force's people")
    func topOfTheChain() throws {
        #expect(try CaseTransition.decide(.escalate(fromJob: 7), for: Self.open(level: CaseTransition.topLevel)) == .escalateToTop(cancelJob: nil))
        #expect(try CaseTransition.decide(.escalate(fromJob: nil), for: Self.open(level: 2)) == .escalateToTop(cancelJob: 7))
    }

    @Test("a stale job's request, or one for a case no longer open, changes nothing", arguments: [
        CaseState.triage, .resolved, .rejected, .escalated, .merged, .cancelled,
    ])
    func staleRequests(state: CaseState) throws {
        var snapshot = Self.open()
        #expect(try CaseTransition.decide(.escalate(fromJob: 6), for: snapshot) == .stale)
        #expect(try CaseTransition.decide(.rerouteByHandler(to: .legal, fromJob: 6, moves: 0), for: snapshot) == .stale)
        snapshot.state = state
        #expect(try CaseTransition.decide(.escalate(fromJob: 7), for: snapshot) == .stale)
        #expect(try CaseTransition.decide(.escalate(fromJob: nil), for: snapshot) == .stale)
        #expect(try CaseTransition.decide(.rerouteByHandler(to: .legal, fromJob: 7, moves: 0), for: snapshot) == .stale)
    }

    @Test("a handler's reroute moves the case; to triage, to itself, or after two moves a person decides")
    func handlerReroutes() throws {
        #expect(try CaseTransition.decide(.rerouteByHandler(to: .legal, fromJob: 7, moves: 0), for: Self.open())
                == .redispatch(to: .legal, event: .rerouted, source: "corrected"))
        #expect(try CaseTransition.decide(.rerouteByHandler(to: .triage, fromJob: 7, moves: 0), for: Self.open()) == .toTriage(note: nil))
        #expect(try CaseTransition.decide(.rerouteByHandler(to: .tax, fromJob: 7, moves: 0), for: Self.open()) == .toTriage(note: nil))
        let bounced = try CaseTransition.decide(.rerouteByHandler(to: .legal, fromJob: 7, moves: 2), for: Self.open())
        #expect(bounced == .toTriage(note: "rerouted 2 times already: a person decides"))
    }

    @Test("an operator reroutes an open case, or assigns a triage case")
    func operatorReroutes() throws {
        #expect(try CaseTransition.decide(.rerouteByOperator(to: .legal), for: Self.open())
                == .redispatch(to: .legal, event: .rerouted, source: "corrected"))
        let triage = CaseSnapshot(id: 2, taskForce: .triage, state: .triage, currentJobID: nil)
        #expect(try CaseTransition.decide(.rerouteByOperator(to: .financing), for: triage)
                == .redispatch(to: .financing, event: .assigned, source: "manual"))
    }

    @Test("an operator's reroute is refused for a closed case, to triage, or to where it already is")
    func operatorRefusals() {
        for state in [CaseState.resolved, .rejected, .escalated, .merged, .cancelled] {
            var snapshot = Self.open()
            snapshot.state = state
            #expect(throws: CaseError.illegal(1, state: state, action: "rerouted")) {
                try CaseTransition.decide(.rerouteByOperator(to: .legal), for: snapshot)
            }
        }
        #expect { try CaseTransition.decide(.rerouteByOperator(to: .triage), for: Self.open()) } throws: { error in
            (error as? CaseError)?.code == .invalidInput && (error as? CaseError)?.field == "to"
        }
        #expect { try CaseTransition.decide(.rerouteByOperator(to: .tax), for: Self.open()) } throws: { error in
            (error as? CaseError)?.message == "case 1 is already with tax"
        }
    }

    @Test("open, triage and escalated cases can be cancelled; closed ones cannot")
    func cancel() throws {
        #expect(try CaseTransition.decide(.cancel, for: Self.open()) == .cancel(cancelJob: 7))
        for state in [CaseState.triage, .escalated] {
            #expect(try CaseTransition.decide(.cancel, for: CaseSnapshot(id: 3, taskForce: .tax, state: state, currentJobID: nil))
                    == .cancel(cancelJob: nil))
        }
        for state in [CaseState.resolved, .rejected, .merged, .cancelled] {
            #expect(throws: CaseError.illegal(4, state: state, action: "cancelled")) {
                try CaseTransition.decide(.cancel, for: CaseSnapshot(id: 4, taskForce: .tax, state: state, currentJobID: nil))
            }
        }
    }

    @Test("a case is born open, in triage when no task force took it, or merged into the open case it repeats")
    func intakeStates() {
        #expect(CaseTransition.intakeState(routedTo: .tax, mergedInto: nil) == .open)
        #expect(CaseTransition.intakeState(routedTo: .triage, mergedInto: nil) == .triage)
        #expect(CaseTransition.intakeState(routedTo: .tax, mergedInto: 12) == .merged)
    }

    @Test("a state the program does not know is an error, never a guess")
    func unknownState() {
        #expect(throws: CaseError.self) { try CaseState(stored: "frozen", caseID: 9) }
        #expect((try? CaseState(stored: "open")) == .open)
    }

    @Test("every ledger event type is one the schema's CHECK allows")
    func eventTypes() {
        let schema: Set<String> = [
            "received", "classified", "deadline_set", "enqueued", "claimed", "attempt_failed", "resolved",
            "rejected", "escalated", "rerouted", "merged", "repeated", "reopened", "assigned", "cancelled",
            "deadline_warning", "deadline_breached", "discarded",
            "held_for_people", "signed_off", "returned", "suspended", "resumed", "cohandling_requested", "cohandling_replied",
            "answered", "callback_due", "callback_recorded", "closed", "redo", "supervised", "chased",
        ]
        #expect(Set(LedgerEventType.allCases.map(\.rawValue)) == schema)
    }
}
