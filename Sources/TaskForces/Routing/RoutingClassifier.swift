import Foundation

/// A routing decision, explained.
package struct RoutingDecision: Sendable, Equatable {
    /// Where the case goes: the model's best class, or `triage` when unsure.
    package let taskForce: TaskForce
    /// Calibrated probability of the model's best class, in [0, 1].
    package let confidence: Double
    /// The model's best class before the triage threshold was applied.
    package let predicted: TaskForce
    /// The terms that weighed most for the predicted class, strongest first.
    package let terms: [WeightedTerm]
    /// Probability per class.
    package let probabilities: [TaskForce: Double]
    /// Why the case went to triage, when it did.
    package let triageReason: String?
    /// Per task force, the probability that the problem also needs it (the model's
    /// co-handling heads); empty for a model without them.
    package let cohandling: [TaskForce: Double]

    package init(taskForce: TaskForce, confidence: Double, predicted: TaskForce, terms: [WeightedTerm],
                 probabilities: [TaskForce: Double], triageReason: String?, cohandling: [TaskForce: Double] = [:]) {
        self.taskForce = taskForce
        self.confidence = confidence
        self.predicted = predicted
        self.terms = terms
        self.probabilities = probabilities
        self.triageReason = triageReason
        self.cohandling = cohandling
    }

    /// The `count` most probable classes, most probable first (ties in the order of
    /// ``TaskForce/allCases``, so the list is deterministic), leaving out `excluded` —
    /// e.g. `[.triage]` for the suggestions of the triage desk.
    package func top(_ count: Int, excluding excluded: Set<TaskForce> = []) -> [(taskForce: TaskForce, probability: Double)] {
        let order = TaskForce.allCases
        return probabilities
            .filter { !excluded.contains($0.key) }
            .sorted { $0.value != $1.value ? $0.value > $1.value
                                           : order.firstIndex(of: $0.key)! < order.firstIndex(of: $1.key)! }
            .prefix(max(0, count))
            .map { (taskForce: $0.key, probability: $0.value) }
    }

    /// The co-handling probability a second task force needs to be named (heads), or,
    /// for a model without heads, the share of the routing probability the runner-up
    /// needs. Chosen on the dev split; docs/dispatcher.md reports the test split.
    package static let secondaryMinimum = 0.5
    package static let runnerUpMinimum = 0.15

    /// For a problem with two parts: the task force that should co-handle it, when the
    /// best class is a task force — the one other task force whose co-handling head is
    /// most sure, if at least `minimum` (or, without heads, the runner-up at
    /// ``runnerUpMinimum``). A suggestion for co-handling (docs/casework.md), never a second route.
    package func secondary(minimum: Double? = nil) -> TaskForce? {
        guard predicted != .triage else { return nil }
        return cohandlingPartner(of: predicted, minimum: minimum)
    }

    /// The task force that should co-handle with `lead` (the route, or the task force an
    /// operator picks at the triage desk): the surest other co-handling head at `minimum`
    /// (default ``secondaryMinimum``); without heads, the runner-up after `lead`.
    package func cohandlingPartner(of lead: TaskForce, minimum: Double? = nil) -> TaskForce? {
        guard lead != .triage else { return nil }
        if !cohandling.isEmpty {
            let order = TaskForce.allCases
            let candidates = cohandling.filter { $0.key != lead && $0.key != .triage }
                .sorted { $0.value != $1.value ? $0.value > $1.value : order.firstIndex(of: $0.key)! < order.firstIndex(of: $1.key)! }
            guard let best = candidates.first, best.value >= (minimum ?? Self.secondaryMinimum) else { return nil }
            return best.key
        }
        let candidates = top(2, excluding: [.triage, lead])
        guard let runnerUp = candidates.first, runnerUp.probability >= (minimum ?? Self.runnerUpMinimum),
              (probabilities[lead] ?? 0) >= runnerUp.probability else { return nil }
        return runnerUp.taskForce
    }
}

/// A term and how much it pushed the decision.
package struct WeightedTerm: Sendable, Equatable, Codable {
    package let term: String
    package let weight: Double
}

/// Classifies enterprise problems into task forces with a ``RoutingModel``.
package final class RoutingClassifier: Sendable {
    package let model: RoutingModel
    private let index: [String: Int]
    /// The same names by their UTF-8 bytes, for ``FeatureExtractor/featureCounts(of:table:)``.
    private let table: FeatureTable
    /// Per feature, computed once: whether it is shown in explanations, its shown form,
    /// and its mean weight over the classes.
    private let explanatory: [Bool]
    private let displayNames: [String]
    private let meanWeights: [Float]
    private let normalizer: TextNormalizer
    private let extractor = FeatureExtractor()
    /// Confidence below which the decision is `triage`.
    package let threshold: Double

    /// - Parameters:
    ///   - model: the trained model (default: the one this binary carries).
    ///   - threshold: triage threshold; `nil` uses the model's own.
    ///   - normalizer: shared text normaliser.
    package init(model: RoutingModel, threshold: Double? = nil, normalizer: TextNormalizer) {
        self.model = model
        self.normalizer = normalizer
        self.threshold = threshold ?? model.triageThreshold
        var index: [String: Int] = [:]
        for (position, feature) in model.features.enumerated() { index[feature] = position }
        self.index = index
        table = FeatureTable(model.features)
        explanatory = model.features.map(Self.isExplanatory)
        displayNames = model.features.map(Self.display)
        let classCount = Float(model.classes.count)
        meanWeights = model.features.indices.map { feature in
            var mean: Float = 0
            for row in model.weights { mean += row[feature] }
            return mean / classCount
        }
    }

    /// The longest text accepted (characters); longer input is an error, not truncated.
    package static let maximumTextLength = 20_000

    /// Classifies one problem text.
    /// - Parameter cohandling: also run the co-handling heads (``RoutingDecision/cohandling``,
    ///   the secondary task force); intake, which records no secondary, leaves them out.
    /// - Throws: ``TaskForcesError`` for empty or over-long text.
    package func classify(_ text: String, cohandling: Bool = true) throws -> RoutingDecision {
        try Self.validate(text)
        return decide(vector: vectorize(normalizer.normalize(text)), cohandling: cohandling)
    }

    /// Classifies a text already validated and normalised with this classifier's
    /// normaliser (`cohandling` as in ``classify(_:cohandling:)``).
    package func classify(normalized: String, cohandling: Bool = true) -> RoutingDecision {
        decide(vector: vectorize(normalized), cohandling: cohandling)
    }

    /// The normaliser this classifier uses.
    package var textNormalizer: TextNormalizer { normalizer }

    /// Checks the rules every problem text must meet.
    package static func validate(_ text: String) throws {
        // As `trimmingCharacters(in: .whitespacesAndNewlines).isEmpty`, stopping at the first other scalar.
        if text.unicodeScalars.allSatisfy({ CharacterSet.whitespacesAndNewlines.contains($0) }) {
            throw TaskForcesError.invalidInput("text is empty; describe the problem")
        }
        // No more bytes than the limit means no more characters: count only longer texts.
        if text.utf8.count > maximumTextLength, text.count > maximumTextLength {
            throw TaskForcesError.invalidInput("text has \(text.count) characters; the limit is \(maximumTextLength) — shorten it or attach details separately")
        }
        if text.unicodeScalars.contains("\u{0}") {
            throw TaskForcesError.invalidInput("text contains a NUL character; remove control characters")
        }
    }

    /// The sparse, L2-normalised feature vector of a normalised text.
    package func vectorize(_ normalized: String) -> [(Int, Float)] {
        guard let counts = extractor.featureCounts(of: normalized, table: table) else { return referenceVectorize(normalized) }
        return Self.vector(sortedCounts: counts, idf: model.idf)
    }

    /// ``vectorize(_:)`` through ``FeatureExtractor/features(of:)`` and a `String` per
    /// feature: what the byte path is tested against (and falls back to).
    package func referenceVectorize(_ normalized: String) -> [(Int, Float)] {
        Self.vector(extractor.features(of: normalized), index: index, idf: model.idf)
    }

    /// ``vector(_:index:idf:)`` of counts already by feature id, sorted by id: the same
    /// arithmetic in the same order, so the same floats.
    static func vector(sortedCounts counts: [(Int, Int)], idf: [Float]) -> [(Int, Float)] {
        var vector = counts.map { ($0.0, (1 + log(Float($0.1))) * idf[$0.0]) }
        let norm = vector.reduce(Float(0)) { $0 + $1.1 * $1.1 }.squareRoot()
        if norm > 0 { vector = vector.map { ($0.0, $0.1 / norm) } }
        return vector
    }

    /// The decision for a normalised text through ``referenceVectorize(_:)`` (tests).
    package func referenceClassify(normalized: String) -> RoutingDecision {
        decide(vector: referenceVectorize(normalized))
    }

    /// Sublinear term frequency × idf, L2-normalised; unknown features are dropped.
    static func vector(_ counts: [String: Int], index: [String: Int], idf: [Float]) -> [(Int, Float)] {
        var vector: [(Int, Float)] = []
        vector.reserveCapacity(counts.count)
        for (feature, count) in counts {
            if let position = index[feature] { vector.append((position, (1 + log(Float(count))) * idf[position])) }
        }
        // Sorted before summing: dictionary order varies between processes, and the
        // float sum must not, or training would not be reproducible.
        vector.sort { $0.0 < $1.0 }
        let norm = vector.reduce(Float(0)) { $0 + $1.1 * $1.1 }.squareRoot()
        if norm > 0 { vector = vector.map { ($0.0, $0.1 / norm) } }
        return vector
    }

    func decide(vector: [(Int, Float)], cohandling withHeads: Bool = true) -> RoutingDecision {
        let probabilities = Self.probabilities(vector: vector, weights: model.weights, bias: model.bias, temperature: model.temperature)
        var best = 0
        for index in probabilities.indices where probabilities[index] > probabilities[best] { best = index }
        let predicted = model.classes[best]
        let confidence = probabilities[best]
        // Explanation: each feature's push towards the predicted class relative to the others' mean.
        var contributions: [(String, Double)] = []
        for (feature, value) in vector {
            // People read words and Chinese terms: single characters, letter trigrams
            // and number markers still count, but are not shown.
            guard explanatory[feature] else { continue }
            let mean = meanWeights[feature]
            let push = Double(value * (model.weights[best][feature] - mean))
            if push > 0 { contributions.append((displayNames[feature], push)) }
        }
        contributions.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        var seen: Set<String> = []
        var terms: [WeightedTerm] = []
        for (term, weight) in contributions where terms.count < 6 {
            // Skip a term already covered by a longer chosen one (e.g. 退 inside 退税).
            if seen.contains(where: { Self.contains($0, term) }) { continue }
            seen.insert(term)
            terms.append(WeightedTerm(term: term, weight: (weight * 1000).rounded() / 1000))
        }
        var byClass: [TaskForce: Double] = [:]
        for (index, label) in model.classes.enumerated() { byClass[label] = probabilities[index] }
        var cohandling: [TaskForce: Double] = [:]
        if withHeads, let headWeights = model.cohandlingWeights, let headBias = model.cohandlingBias {
            for (index, label) in model.classes.enumerated() where label != .triage {
                var logit = Double(headBias[index])
                for (feature, value) in vector { logit += Double(headWeights[index][feature] * value) }
                cohandling[label] = 1 / (1 + exp(-logit))
            }
        }
        var reason: String?
        var destination = predicted
        func format(_ value: Double) -> String { String(format: "%.2f", value) }
        if vector.isEmpty {
            destination = .triage
            reason = "no known terms in the text"
        } else if predicted == .triage {
            // The explicit out-of-scope signal: the triage class is trained on individuals'
            // and households' matters, neighbours, non-enterprise and too-vague requests.
            reason = "out of scope for the task forces (an individual's, household or non-enterprise matter, or too vague to route): probability \(format(confidence))"
        } else if confidence < threshold {
            destination = .triage
            let runnerUp = (0..<probabilities.count).filter { $0 != best }.max { probabilities[$0] < probabilities[$1] }
            let alternative = runnerUp.map { ", next \(model.classes[$0].rawValue) \(format(probabilities[$0]))" } ?? ""
            reason = "uncertain: \(predicted.rawValue) \(format(confidence))\(alternative) — below the threshold \(format(threshold))"
        }
        return RoutingDecision(
            taskForce: destination, confidence: confidence, predicted: predicted, terms: terms,
            probabilities: byClass, triageReason: reason, cohandling: cohandling)
    }

    static func probabilities(vector: [(Int, Float)], weights: [[Float]], bias: [Float], temperature: Double) -> [Double] {
        var logits = bias.map(Double.init)
        for (feature, value) in vector {
            for label in logits.indices { logits[label] += Double(weights[label][feature] * value) }
        }
        let scaled = logits.map { $0 / temperature }
        let top = scaled.max() ?? 0
        let exps = scaled.map { exp($0 - top) }
        let sum = exps.reduce(0, +)
        return exps.map { $0 / sum }
    }

    /// `haystack.contains(needle)` (Foundation's), by bytes when both are ASCII and CJK
    /// ideographs only — where each character is one scalar and equal means equal bytes.
    package static func contains(_ haystack: String, _ needle: String) -> Bool {
        guard isPlain(haystack), isPlain(needle) else { return haystack.contains(needle) }
        let text = Array(haystack.utf8), part = Array(needle.utf8)
        guard !part.isEmpty else { return haystack.contains(needle) }
        guard text.count >= part.count else { return false }
        for start in 0...(text.count - part.count) where text[start] == part[0] {
            var index = 1
            while index < part.count && text[start + index] == part[index] { index += 1 }
            if index == part.count { return true }
        }
        return false
    }

    /// Printable ASCII and CJK Unified Ideographs (with Extension A) only.
    static func isPlain(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) || (0x3400...0x4DBF).contains($0.value) }
    }

    static func isExplanatory(_ feature: String) -> Bool {
        if feature.hasPrefix("l:") || feature.hasPrefix("#") { return false }
        if feature.hasPrefix("w:") { return true }
        return feature.count >= 2
    }

    static func display(_ feature: String) -> String {
        if feature.hasPrefix("w:") || feature.hasPrefix("l:") { return String(feature.dropFirst(2)) }
        return feature
    }
}
