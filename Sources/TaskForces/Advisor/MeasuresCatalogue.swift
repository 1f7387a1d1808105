import Foundation

/// Text in the three scripts the system answers in.
package struct LocalizedText: Sendable, Codable, Equatable {
    package let simplified: String
    package let traditional: String
    package let english: String

    enum CodingKeys: String, CodingKey {
        case simplified = "zh-Hans"
        case traditional = "zh-Hant"
        case english = "en"
    }

    /// The text in `script`.
    package func text(in script: TextScript) -> String {
        switch script {
        case .simplified: return simplified
        case .traditional: return traditional
        case .english: return english
        }
    }
}

/// One of the policy's 15 measures, with the terms that show it applies.
package struct Measure: Sendable, Codable, Equatable {
    package struct Terms: Sendable, Codable, Equatable {
        /// Simplified Chinese terms (matched against normalised text).
        package let zh: [String]
        /// Lower-case English terms.
        package let en: [String]
    }

    package let number: Int
    package let key: String
    package let title: LocalizedText
    package let summary: LocalizedText
    package let terms: Terms
    package let responsibleUnit: LocalizedText
    package let taskForces: [TaskForce]
    package let nextStep: LocalizedText

    enum CodingKeys: String, CodingKey {
        case number, key, title, summary, terms
        case responsibleUnit = "responsible_unit"
        case taskForces = "task_forces"
        case nextStep = "next_step"
    }
}

/// A measure that matched a text, and which of its terms did.
package struct MeasureMatch: Sendable, Equatable {
    package let measure: Measure
    package let matchedTerms: [String]
}

/// The catalogue of the policy's measures (`data/policy/measures.json`, carried by the binary).
package struct MeasuresCatalogue: Sendable {
    package let measures: [Measure]

    /// Parses a catalogue file.
    /// - Throws: ``TaskForcesError`` naming what is wrong.
    package init(json: Data) throws {
        do {
            measures = try JSONDecoder().decode([Measure].self, from: json).sorted { $0.number < $1.number }
        } catch {
            throw TaskForcesError.invalidInput("measures catalogue is not valid: \(error)")
        }
        guard !measures.isEmpty else { throw TaskForcesError.invalidInput("measures catalogue is empty") }
    }

    /// The catalogue this binary carries.
    package static func bundled() throws -> MeasuresCatalogue {
        guard let file = embeddedFiles.first(where: { $0.name == "measures.json" }) else {
            throw TaskForcesError.invalidInput("this build carries no data/policy/measures.json")
        }
        return try MeasuresCatalogue(json: Data(file.content.utf8))
    }

    /// The measures whose terms occur in a normalised text, most matched terms first.
    /// - Parameter normalized: text from ``TextNormalizer/normalize(_:)``.
    package func matches(inNormalizedText normalized: String) -> [MeasureMatch] {
        var found: [MeasureMatch] = []
        for measure in measures {
            let hits = (measure.terms.zh + measure.terms.en).filter { !$0.isEmpty && normalized.containsExactly($0.lowercased()) }
            if !hits.isEmpty { found.append(MeasureMatch(measure: measure, matchedTerms: hits)) }
        }
        return found.sorted { ($0.matchedTerms.count, -$0.measure.number) > ($1.matchedTerms.count, -$1.measure.number) }
    }

    /// A measure by its number.
    package func measure(_ number: Int) -> Measure? { measures.first { $0.number == number } }
}

/// Signs that a case needs the task force rather than an automatic answer
/// (`data/policy/escalation-terms.json`).
package struct EscalationTerms: Sendable, Codable {
    package struct Terms: Sendable, Codable {
        package let zh: [String]
        package let en: [String]
        var all: [String] { zh + en }
    }

    package let arrears: Terms
    package let litigation: Terms
    package let repeated: Terms
    /// Amounts at or above this (yuan) need the task force.
    package let largeAmountThresholdYuan: Double

    enum CodingKeys: String, CodingKey {
        case arrears, litigation, repeated
        case largeAmountThresholdYuan = "large_amount_threshold_yuan"
    }

    package static func bundled() throws -> EscalationTerms {
        guard let file = embeddedFiles.first(where: { $0.name == "escalation-terms.json" }) else {
            throw TaskForcesError.invalidInput("this build carries no data/policy/escalation-terms.json")
        }
        do {
            return try JSONDecoder().decode(EscalationTerms.self, from: Data(file.content.utf8))
        } catch {
            throw TaskForcesError.invalidInput("escalation terms are not valid: \(error)")
        }
    }

    /// Why a normalised text needs the task force, or nil.
    package func reasons(inNormalizedText text: String, repeatCount: Int) -> [String] {
        var reasons: [String] = []
        if let term = arrears.all.first(where: { text.containsExactly($0.lowercased()) }) { reasons.append("government arrears (\"\(term)\")") }
        if let term = litigation.all.first(where: { text.containsExactly($0.lowercased()) }) { reasons.append("litigation (\"\(term)\")") }
        if repeatCount >= 2 {
            reasons.append("repeated demand (\(repeatCount + 1) times)")
        } else if let term = repeated.all.first(where: { text.containsExactly($0.lowercased()) }) {
            reasons.append("repeated demand (\"\(term)\")")
        }
        if let amount = AmountParser.largestYuan(in: text), amount >= largeAmountThresholdYuan {
            reasons.append("large amount (\(AmountParser.format(amount)) yuan)")
        }
        return reasons
    }
}

/// Finds money amounts in normalised text: `120万`, `3.5亿元`, `¥2,000,000`,
/// `rmb 1.2m`, `5 million yuan`.
package enum AmountParser {
    /// The largest amount in yuan mentioned, if any.
    package static func largestYuan(in text: String) -> Double? {
        let characters = Array(text)
        var best: Double?
        var index = 0
        while index < characters.count {
            guard characters[index].isASCII, characters[index].isNumber else { index += 1; continue }
            var end = index
            var digits = ""
            while end < characters.count, characters[end].isASCII, characters[end].isNumber || characters[end] == "," || characters[end] == "." {
                if characters[end] != "," { digits.append(characters[end]) }
                end += 1
            }
            guard var value = Double(digits) else { index = end; continue }
            var rest = String(characters[end..<min(characters.count, end + 12)])
            rest = rest.trimmingCharacters(in: .whitespaces)
            var isMoney = false
            if rest.hasPrefix("亿") { value *= 100_000_000; isMoney = true }
            else if rest.hasPrefix("万") { value *= 10_000; isMoney = true }
            else if rest.hasPrefix("千万") { value *= 10_000_000; isMoney = true }
            else if rest.hasPrefix("元") || rest.hasPrefix("块") { isMoney = true }
            else if rest.hasPrefix("million") || rest.hasPrefix("m ") || rest == "m" || rest.hasPrefix("mn") { value *= 1_000_000; isMoney = true }
            else if rest.hasPrefix("billion") || rest.hasPrefix("bn") { value *= 1_000_000_000; isMoney = true }
            else if rest.hasPrefix("k ") || rest.hasPrefix("thousand") { value *= 1_000; isMoney = true }
            let before = String(characters[max(0, index - 5)..<index])
            if before.contains("¥") || before.contains("￥") || before.contains("rmb") || before.contains("cny") || rest.hasPrefix("yuan") || rest.hasPrefix("rmb") {
                isMoney = true
            }
            if isMoney { best = max(best ?? 0, value) }
            index = end
        }
        return best
    }

    static func format(_ amount: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: amount)) ?? String(Int(amount))
    }
}
