/// The state of a case (`case_state` in `migrations/0003_cases.sql`).
///
/// ```
///            intake
///   ┌──────────┴──────────┐
///   ▼                     ▼
/// triage ──assign──▶    open ──resolve──▶ resolved
///   ▲                 │  │  ├──reject───▶ rejected
///   └──to triage──────┘  │  ├──escalate (level 0→1→2)──▶ open
///                        │  └──escalate at the top──▶ escalated (the task force's people)
///   open, triage, escalated ──cancel──▶ cancelled
///   intake of a repeated demand ──▶ merged (into the open case)
///
///   casework (docs/casework.md): escalation into a level people own
///        ──▶ signoff ──sign off──▶ working ──answer──▶ answered ──callback due──▶ callback_due
///              │  ▲                 │  ▲ ▲                                           │
///        return│  │redo       suspend│  │ │last co-handling reply        satisfied / basically
///              ▼  │                  ▼  │ │                                           ▼
///           triage│           suspended  cohandling ◀─ask for co-handling        closed
///                 └───────────── unsatisfied (from answered or callback_due) ──────┘
/// ```
/// ``CaseTransition`` decides which commands each state allows.
package enum CaseState: String, Sendable, Codable, CaseIterable {
    case triage, open, resolved, rejected, escalated, merged, cancelled
    case signoff, working, suspended, cohandling, answered
    case callbackDue = "callback_due"
    case closed, redo

    /// Parses a state read from the database; an unknown one is an error, never a guess.
    package init(stored text: String, caseID: Int64? = nil) throws(CaseError) {
        guard let state = CaseState(rawValue: text) else {
            throw CaseError(code: .unknownState,
                            message: "case \(caseID.map(String.init) ?? "?") has state \"\(text)\", which this program does not know; upgrade it",
                            caseID: caseID)
        }
        self = state
    }

    /// Whether the case still waits for an answer (open or in triage).
    package var isWaiting: Bool { self == .open || self == .triage }

    /// Whether the case is with people and not yet answered (its clocks run or are paused).
    package var isWithPeople: Bool { [.signoff, .working, .suspended, .cohandling, .redo].contains(self) }

    /// Whether nothing more happens to the case.
    package var isFinal: Bool { [.resolved, .rejected, .merged, .cancelled, .closed].contains(self) }
}
