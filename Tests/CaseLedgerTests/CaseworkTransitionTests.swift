import CaseLedger
import Foundation
import TaskForces
import Testing

/// The rules of casework as a table: every command against every state, without a database.
/// What a command may do in a state is in docs/casework.md; everything else is refused.
@Suite("Casework transitions")
struct CaseworkTransitionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let bound = now.addingTimeInterval(5 * 86400)

    static func snapshot(_ state: CaseState, suspendCount: Int = 0, redoCount: Int = 0,
                         signoffDue: TimeInterval = 3600, solutionDue: TimeInterval = 86400) -> CaseSnapshot {
        var snapshot = CaseSnapshot(id: 42, taskForce: .tax, state: state, currentJobID: nil, level: 2)
        snapshot.casework = CaseworkFacts(signoffDueAt: now.addingTimeInterval(signoffDue), dueAt: now.addingTimeInterval(solutionDue),
                                          suspendCount: suspendCount, redoCount: redoCount)
        return snapshot
    }

    static func decide(_ command: CaseworkCommand, _ state: CaseState, suspendCount: Int = 0) throws(CaseError) -> CaseworkDecision {
        try CaseTransition.decide(command, for: snapshot(state, suspendCount: suspendCount), now: now,
                                  suspensionBound: bound, maxSuspensions: 2)
    }

    /// Each command by a person, and the states it is allowed in.
    static let allowed: [(name: String, command: CaseworkCommand, states: Set<CaseState>)] = [
        ("sign-off", .signOff, [.signoff, .redo]),
        ("suspend", .suspend(until: now.addingTimeInterval(3600), reason: "等待材料"), [.working]),
        ("resume", .resume(automatic: false), [.suspended]),
        ("return", .returnToTriage(reason: "不属于本专班"), [.signoff, .working, .redo]),
        ("cohandle", .requestCohandling(partners: [.legal], question: "是否涉诉？"), [.working]),
        ("answer", .answer(text: "已办结"), [.working]),
        ("callback", .recordCallback(.satisfied), [.answered, .callbackDue]),
        ("supervise", .supervise(note: "尽快"), [.open, .signoff, .working, .suspended, .cohandling, .redo]),
        ("chase", .chase(note: "催办"), [.open, .signoff, .working, .suspended, .cohandling, .redo]),
    ]

    @Test("each command is allowed exactly in its states and refused in every other, naming the case and its state",
          arguments: allowed.map(\.name))
    func commandAgainstEveryState(name: String) throws {
        let entry = try #require(Self.allowed.first { $0.name == name })
        for state in CaseState.allCases {
            if entry.states.contains(state) {
                #expect(throws: Never.self, "\(name) in \(state)") { try Self.decide(entry.command, state) }
            } else {
                do {
                    _ = try Self.decide(entry.command, state)
                    Issue.record("\(name) in \(state) was allowed")
                } catch {
                    #expect(error.code == .illegalTransition, "\(name) in \(state): \(error)")
                    #expect(error.caseID == 42)
                    #expect(error.message.contains("42") && error.message.contains(state.rawValue), "\(error.message)")
                }
            }
        }
    }

    @Test("sign-off and answer are on time until their clocks run out")
    func onTime() throws {
        #expect(try Self.decide(.signOff, .signoff) == .signOff(onTime: true))
        let late = Self.snapshot(.signoff, signoffDue: -1)
        #expect(try CaseTransition.decide(.signOff, for: late, now: Self.now, suspensionBound: Self.bound, maxSuspensions: 2)
            == .signOff(onTime: false))
        let overdue = Self.snapshot(.working, solutionDue: -60)
        #expect(try CaseTransition.decide(.answer(text: "答复"), for: overdue, now: Self.now, suspensionBound: Self.bound, maxSuspensions: 2)
            == .answer(onTime: false, round: 0))
    }

    @Test("satisfied or basically satisfied closes; unsatisfied opens the next round")
    func callbackOutcomes() throws {
        #expect(try Self.decide(.recordCallback(.satisfied), .answered) == .close(.satisfied))
        #expect(try Self.decide(.recordCallback(.basicallySatisfied), .callbackDue) == .close(.basicallySatisfied))
        let second = Self.snapshot(.answered, redoCount: 1)
        #expect(try CaseTransition.decide(.recordCallback(.unsatisfied), for: second, now: Self.now, suspensionBound: Self.bound,
                                          maxSuspensions: 2) == .redo(round: 2))
    }

    @Test("a suspension needs a reason, a future end within the policy's bound, and suspensions left")
    func suspensionRules() throws {
        func field(_ command: CaseworkCommand, suspendCount: Int = 0) -> String? {
            do { _ = try Self.decide(command, .working, suspendCount: suspendCount); return nil } catch { return error.field }
        }
        #expect(field(.suspend(until: Self.now.addingTimeInterval(60), reason: " ")) == "reason")
        #expect(field(.suspend(until: Self.now.addingTimeInterval(-60), reason: "等待")) == "until")
        #expect(field(.suspend(until: Self.bound.addingTimeInterval(1), reason: "等待")) == "until")
        #expect(field(.suspend(until: Self.bound, reason: "等待")) == nil)
        #expect(field(.suspend(until: Self.now.addingTimeInterval(60), reason: "等待"), suspendCount: 2) == "until")
    }

    @Test("the sweep's commands find a case that moved on stale, never an error")
    func sweepIsNeverRefused() throws {
        #expect(try Self.decide(.resume(automatic: true), .working) == .stale)
        let notYet = { var s = Self.snapshot(.suspended); s.casework.resumeAt = Self.now.addingTimeInterval(60); return s }()
        #expect(try CaseTransition.decide(.resume(automatic: true), for: notYet, now: Self.now, suspensionBound: Self.bound,
                                          maxSuspensions: 2) == .stale)
        #expect(try Self.decide(.callbackFallsDue, .closed) == .stale)
        #expect(try Self.decide(.callbackFallsDue, .answered) == .callbackDue)
    }

    @Test("co-handling names other task forces, each once")
    func cohandlingPartners() throws {
        for partners in [[TaskForce](), [.tax], [.triage], [.legal, .legal]] {
            do {
                _ = try Self.decide(.requestCohandling(partners: partners, question: "?"), .working)
                Issue.record("\(partners) was accepted")
            } catch {
                #expect(error.code == .invalidInput && error.field == "with")
            }
        }
    }
}
