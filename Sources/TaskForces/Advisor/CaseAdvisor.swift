import Foundation

/// What a department's handler decided about a case.
package struct Resolution: Sendable, Codable, Equatable {
    package enum Outcome: String, Sendable, Codable, CaseIterable {
        case resolved, escalate, reroute, reject
    }

    package var outcome: Outcome
    package var summary: String
    /// Numbers (1–15) of the policy measures applied.
    package var measures: [Int]
    package var responsibleUnit: String?
    /// For `reroute`: the task force the case belongs to.
    package var rerouteTo: TaskForce?
    /// The reply to the enterprise, in its language.
    package var reply: String?
    package var nextStep: String?

    enum CodingKeys: String, CodingKey {
        case outcome, summary, measures, reply
        case responsibleUnit = "responsible_unit"
        case rerouteTo = "reroute_to"
        case nextStep = "next_step"
    }

    package init(outcome: Outcome, summary: String, measures: [Int] = [], responsibleUnit: String? = nil,
                rerouteTo: TaskForce? = nil, reply: String? = nil, nextStep: String? = nil) {
        self.outcome = outcome
        self.summary = summary
        self.measures = measures
        self.responsibleUnit = responsibleUnit
        self.rerouteTo = rerouteTo
        self.reply = reply
        self.nextStep = nextStep
    }

    /// Parses and checks a handler's answer, naming the field that is wrong.
    /// - Throws: ``TaskForcesError``.
    package static func parse(_ text: String) throws -> Resolution {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw TaskForcesError.invalidInput("the handler printed nothing; it must print one JSON resolution") }
        // The resolution is the last non-empty line (handlers may log before it).
        let line = trimmed.split(separator: "\n").last.map(String.init) ?? trimmed
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw TaskForcesError.invalidInput("the handler's output is not a JSON object: \(line.prefix(200))")
        }
        guard let outcomeText = object["outcome"] as? String else { throw TaskForcesError.invalidInput("field \"outcome\" is missing") }
        guard let outcome = Outcome(rawValue: outcomeText) else {
            throw TaskForcesError.invalidInput("field \"outcome\": \"\(outcomeText)\" is not one of resolved, escalate, reroute, reject")
        }
        guard let summary = object["summary"] as? String, !summary.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw TaskForcesError.invalidInput("field \"summary\" is missing or empty")
        }
        var measures: [Int] = []
        if let raw = object["measures"] {
            guard let list = raw as? [Any], list.allSatisfy({ ($0 as? NSNumber).map { (1...15).contains($0.intValue) } ?? false }) else {
                throw TaskForcesError.invalidInput("field \"measures\" must be a list of measure numbers 1–15")
            }
            measures = list.compactMap { ($0 as? NSNumber)?.intValue }
        }
        var rerouteTo: TaskForce?
        if outcome == .reroute {
            guard let target = object["reroute_to"] as? String else { throw TaskForcesError.invalidInput("field \"reroute_to\" is required for outcome reroute") }
            rerouteTo = try TaskForce(parsing: target)
        }
        return Resolution(
            outcome: outcome, summary: String(summary.prefix(4_000)), measures: measures,
            responsibleUnit: object["responsible_unit"] as? String, rerouteTo: rerouteTo,
            reply: (object["reply"] as? String).map { String($0.prefix(8_000)) }, nextStep: object["next_step"] as? String)
    }

    /// JSON text of this resolution.
    package func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// The facts of a case a handler works from.
package struct CaseFacts: Sendable, Codable, Equatable {
    package let caseID: Int64
    package let text: String
    package let taskForce: TaskForce
    package let language: TextScript
    package let escalationLevel: Int
    package let repeatCount: Int
    package let routingSource: String
    package let enterprise: String?

    package init(caseID: Int64, text: String, taskForce: TaskForce, language: TextScript, escalationLevel: Int,
                repeatCount: Int, routingSource: String, enterprise: String?) {
        self.caseID = caseID
        self.text = text
        self.taskForce = taskForce
        self.language = language
        self.escalationLevel = escalationLevel
        self.repeatCount = repeatCount
        self.routingSource = routingSource
        self.enterprise = enterprise
    }
}

/// The built-in handler: resolves routine cases by the policy's measures, drafts the
/// reply in the case's language, and escalates or reroutes what it should not decide.
///
/// - `escalate` when the case needs the task force: government arrears, litigation,
///   repeated demands, large amounts (terms in `data/policy/escalation-terms.json`);
/// - `reroute` when the case clearly belongs to another task force: the classifier is
///   confident of another one and the matched measures point there too;
/// - otherwise `resolved`, naming the measures, the responsible unit and the next step.
package struct CaseAdvisor: Sendable {
    package let catalogue: MeasuresCatalogue
    package let escalationTerms: EscalationTerms
    package let classifier: RoutingClassifier

    package init(catalogue: MeasuresCatalogue, escalationTerms: EscalationTerms, classifier: RoutingClassifier) {
        self.catalogue = catalogue
        self.escalationTerms = escalationTerms
        self.classifier = classifier
    }

    /// Decides about one case.
    package func advise(_ facts: CaseFacts) -> Resolution {
        let normalized = classifier.textNormalizer.normalize(facts.text)
        let matches = catalogue.matches(inNormalizedText: normalized)
        let measures = Array(matches.prefix(3))
        let script = facts.language

        // 1. Misrouted? A routing a person or a reroute already corrected is trusted.
        //    Otherwise the case moves when the classifier is confident of another task
        //    force (more so against an operator's choice), or when it and the best
        //    matching measure agree on one.
        if facts.routingSource != "corrected", facts.escalationLevel == 0 {
            let decision = classifier.classify(normalized: normalized)
            let needed = facts.routingSource == "manual" ? 0.95 : 0.85
            let measuresAgree = measures.first.map { $0.measure.taskForces == [decision.predicted] } ?? false
            if decision.predicted != facts.taskForce, decision.predicted != .triage,
               decision.confidence >= needed || (measuresAgree && decision.confidence >= 0.6) {
                let evidence = measures.first.map { ", measure \($0.measure.number) (\($0.matchedTerms.joined(separator: ", ")))" } ?? ""
                return Resolution(
                    outcome: .reroute,
                    summary: "belongs to \(decision.predicted.rawValue): classifier \(String(format: "%.2f", decision.confidence))\(evidence)",
                    measures: measures.first.map { [$0.measure.number] } ?? [], rerouteTo: decision.predicted)
            }
        }

        // 2. Needs the task force?
        let reasons = escalationTerms.reasons(inNormalizedText: normalized, repeatCount: facts.repeatCount)
        if !reasons.isEmpty {
            return Resolution(
                outcome: .escalate, summary: "needs the task force: " + reasons.joined(separator: "; "),
                measures: measures.map(\.measure.number),
                responsibleUnit: measures.first?.measure.responsibleUnit.text(in: script),
                reply: Self.escalationReply(script: script, taskForce: facts.taskForce))
        }

        // 3. Routine: answer with the measures that apply.
        let unit = measures.first?.measure.responsibleUnit.text(in: script) ?? Self.defaultUnit(facts.taskForce, script)
        let nextStep = measures.first?.measure.nextStep.text(in: script) ?? Self.defaultNextStep(script)
        let reply = Self.reply(script: script, measures: measures.map(\.measure), unit: unit, nextStep: nextStep, taskForce: facts.taskForce)
        let summary = measures.isEmpty
            ? "answered by the \(facts.taskForce.rawValue) task force's standard guidance"
            : "answered under measure " + measures.map { "\($0.measure.number) (\($0.matchedTerms.prefix(3).joined(separator: ", ")))" }.joined(separator: ", ")
        return Resolution(outcome: .resolved, summary: summary, measures: measures.map(\.measure.number),
                          responsibleUnit: unit, reply: reply, nextStep: nextStep)
    }

    static func reply(script: TextScript, measures: [Measure], unit: String, nextStep: String, taskForce: TaskForce) -> String {
        let titles = measures.map { $0.title.text(in: script) }
        switch script {
        case .simplified:
            let basis = titles.isEmpty ? "" : "根据沈阳市支持企业开复工的政策措施（\(titles.joined(separator: "；"))），"
            return "您好，您反映的问题已受理。\(basis)由\(unit)负责办理。\(nextStep)"
        case .traditional:
            let basis = titles.isEmpty ? "" : "根據瀋陽市支持企業開復工的政策措施（\(titles.joined(separator: "；"))），"
            return "您好，您反映的問題已受理。\(basis)由\(unit)負責辦理。\(nextStep)"
        case .english:
            let basis = titles.isEmpty ? "" : " Under the city's measures for resuming business (\(titles.joined(separator: "; "))),"
            return "Thank you, your request has been accepted.\(basis) it is handled by \(unit). \(nextStep)"
        }
    }

    static func escalationReply(script: TextScript, taskForce: TaskForce) -> String {
        switch script {
        case .simplified: return "您好，您反映的问题已受理，因涉及\(taskForce.chineseName)职责范围内的重大事项，已提交上一级协调办理，我们会在规定时限内答复。"
        case .traditional: return "您好，您反映的問題已受理，因涉及重大事項，已提交上一級協調辦理，我們會在規定時限內答覆。"
        case .english: return "Thank you, your request has been accepted. Because it needs coordination at a higher level (\(taskForce.englishName) task force), it has been escalated; you will hear back within the time limit."
        }
    }

    static func defaultUnit(_ taskForce: TaskForce, _ script: TextScript) -> String {
        switch script {
        case .simplified, .traditional: return taskForce.chineseName
        case .english: return "the \(taskForce.englishName) task force"
        }
    }

    static func defaultNextStep(_ script: TextScript) -> String {
        switch script {
        case .simplified: return "工作人员将在时限内与您联系。"
        case .traditional: return "工作人員將在時限內與您聯繫。"
        case .english: return "Staff will contact you within the time limit."
        }
    }
}
