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
/// ```
/// ``CaseTransition`` decides which commands each state allows.
package enum CaseState: String, Sendable, Codable, CaseIterable {
    case triage, open, resolved, rejected, escalated, merged, cancelled

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
}
