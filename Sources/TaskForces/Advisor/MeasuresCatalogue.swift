import Foundation

/// Text in the three scripts the system answers in.
public struct LocalizedText: Sendable, Codable, Equatable {
    public let simplified: String
    public let traditional: String
    public let english: String

    enum CodingKeys: String, CodingKey {
        case simplified = "zh-Hans"
        case traditional = "zh-Hant"
        case english = "en"
    }

    /// The text in `script`.
    public func text(in script: TextScript) -> String {
        switch script {
        case .simplified: return simplified
        case .traditional: return traditional
        case .english: return english
        }
    }
}

/// One of the policy's 15 measures, with the terms that show it applies.
public struct Measure: Sendable, Codable, Equatable {
    public struct Terms: Sendable, Codable, Equatable {
        /// Simplified Chinese terms (matched against normalised text).
        public let zh: [String]
        /// Lower-case English terms.
        public let en: [String]
    }

    public let number: Int
    public let key: String
    public let title: LocalizedText
    public let summary: LocalizedText
    public let terms: Terms
    public let responsibleUnit: LocalizedText
    public let taskForces: [TaskForce]
    public let nextStep: LocalizedText

    enum CodingKeys: String, CodingKey {
        case number, key, title, summary, terms
        case responsibleUnit = "responsible_unit"
        case taskForces = "task_forces"
        case nextStep = "next_step"
    }
}

/// A measure that matched a text, and which of its terms did.
public struct MeasureMatch: Sendable, Equatable {
    public let measure: Measure
    public let matchedTerms: [String]
}

/// The catalogue of the policy's measures (`data/policy/measures.json`, carried by the binary).
public struct MeasuresCatalogue: Sendable {
    public let measures: [Measure]

    /// Parses a catalogue file.
    /// - Throws: ``DomainError/invalidInput(_:)`` naming what is wrong.
    public init(json: Data) throws {
        do {
            measures = try JSONDecoder().decode([Measure].self, from: json).sorted { $0.number < $1.number }
        } catch {
            throw DomainError.invalidInput("measures catalogue is not valid: \(error)")
        }
        guard !measures.isEmpty else { throw DomainError.invalidInput("measures catalogue is empty") }
    }

    /// The catalogue this binary carries.
    public static func bundled() throws -> MeasuresCatalogue {
        guard let file = embeddedFiles.first(where: { $0.name == "measures.json" }) else {
            throw DomainError.invalidInput("this build carries no data/policy/measures.json")
        }
        return try MeasuresCatalogue(json: Data(file.content.utf8))
    }

    /// The measures whose terms occur in a normalised text, most matched terms first.
    /// - Parameter normalized: text from ``TextNormalizer/normalize(_:)``.
    public func matches(inNormalizedText normalized: String) -> [MeasureMatch] {
        var found: [MeasureMatch] = []
        for measure in measures {
            let hits = (measure.terms.zh + measure.terms.en).filter { !$0.isEmpty && normalized.containsExactly($0.lowercased()) }
            if !hits.isEmpty { found.append(MeasureMatch(measure: measure, matchedTerms: hits)) }
        }
        return found.sorted { ($0.matchedTerms.count, -$0.measure.number) > ($1.matchedTerms.count, -$1.measure.number) }
    }

    /// A measure by its number.
    public func measure(_ number: Int) -> Measure? { measures.first { $0.number == number } }
}

/// Signs that a case needs the task force rather than an automatic answer
/// (`data/policy/escalation-terms.json`).
public struct EscalationTerms: Sendable, Codable {
    public struct Terms: Sendable, Codable {
        public let zh: [String]
        public let en: [String]
        var all: [String] { zh + en }
    }

    public let arrears: Terms
    public let litigation: Terms
    public let repeated: Terms
    /// Amounts at or above this (yuan) need the task force.
    public let largeAmountThresholdYuan: Double

    enum CodingKeys: String, CodingKey {
        case arrears, litigation, repeated
        case largeAmountThresholdYuan = "large_amount_threshold_yuan"
    }

    public static func bundled() throws -> EscalationTerms {
        guard let file = embeddedFiles.first(where: { $0.name == "escalation-terms.json" }) else {
            throw DomainError.invalidInput("this build carries no data/policy/escalation-terms.json")
        }
        do {
            return try JSONDecoder().decode(EscalationTerms.self, from: Data(file.content.utf8))
        } catch {
            throw DomainError.invalidInput("escalation terms are not valid: \(error)")
        }
    }

    /// Why a normalised text needs the task force, or nil.
    public func reasons(inNormalizedText text: String, repeatCount: Int) -> [String] {
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
public enum AmountParser {
    /// The largest amount in yuan mentioned, if any.
    public static func largestYuan(in text: String) -> Double? {
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
