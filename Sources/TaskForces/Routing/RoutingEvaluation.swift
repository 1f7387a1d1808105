import Foundation

/// Quality of routing on a labelled set: accuracy, macro-F1, per-class
/// precision/recall/F1, the confusion matrix, and calibration.
package struct RoutingEvaluation: Sendable {
    package struct ClassScore: Sendable {
        package let label: TaskForce
        package let precision: Double
        package let recall: Double
        package let f1: Double
        package let support: Int
    }

    /// One bin of the reliability table: predictions whose confidence fell in [lower, upper).
    package struct CalibrationBin: Sendable {
        package let lower: Double
        package let upper: Double
        package let count: Int
        package let meanConfidence: Double
        package let accuracy: Double
    }

    package let labels: [TaskForce]
    /// `confusion[actual][predicted]`, indexed like `labels`.
    package let confusion: [[Int]]
    package let accuracy: Double
    package let macroF1: Double
    package let scores: [ClassScore]
    /// Accuracy of the model's best class, before triage thresholding.
    package let modelAccuracy: Double
    /// Cases sent to triage by the threshold although the model's best class was a task force.
    package let sentToTriage: Int
    /// Share of examples whose label is among the model's three most probable classes.
    package let topThreeAccuracy: Double
    /// Secondary task forces (co-handling), when the examples carry them: how many the
    /// classifier named, how many of those were the labelled one, and how many labelled
    /// ones there were. Nil when no example has a `secondary` label.
    package let secondary: (named: Int, correct: Int, labelled: Int)?
    package let calibration: [CalibrationBin]
    /// Expected calibration error (weighted mean gap between confidence and accuracy).
    package let expectedCalibrationError: Double
    /// The co-handling threshold measured (nil: the classifier's default rule).
    package let secondaryMinimum: Double?

    /// Scores of one slice of the examples (one style, one language).
    package struct SliceScore: Sendable {
        package let name: String
        package let count: Int
        package let accuracy: Double
        /// Macro-F1 over the classes present in the slice (as label or as route).
        package let macroF1: Double
        package let topThreeAccuracy: Double
        /// Recall of `triage` within the slice (nil when it has no triage examples).
        package let triageRecall: Double?
    }

    /// Per writing style, when the examples carry `style` (sorted by name; `-` = none given).
    package let byStyle: [SliceScore]
    /// Per language tag, when the examples carry `language`.
    package let byLanguage: [SliceScore]

    /// Routes every example and compares with its label.
    /// - Parameter secondaryMinimum: the co-handling threshold to measure (default: the classifier's rule).
    package init(classifier: RoutingClassifier, examples: [LabelledExample], secondaryMinimum: Double? = nil) throws {
        self.secondaryMinimum = secondaryMinimum
        let labels = TaskForce.allCases
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: labels.count), count: labels.count)
        var modelCorrect = 0
        var inTopThree = 0
        var secondaryNamed = 0, secondaryCorrect = 0, secondaryLabelled = 0
        var triaged = 0
        var confidences: [(Double, Bool)] = []
        var outcomes: [Outcome] = []
        for example in examples {
            let decision = try classifier.classify(example.text)
            outcomes.append(Outcome(
                label: example.label, routed: decision.taskForce,
                inTopThree: decision.top(3).contains { $0.taskForce == example.label },
                style: example.style ?? "-", language: example.language ?? "-"))
            confusion[labels.firstIndex(of: example.label)!][labels.firstIndex(of: decision.taskForce)!] += 1
            if decision.predicted == example.label { modelCorrect += 1 }
            if decision.top(3).contains(where: { $0.taskForce == example.label }) { inTopThree += 1 }
            let named = decision.secondary(minimum: secondaryMinimum)
            if named != nil { secondaryNamed += 1 }
            if let labelled = example.secondary {
                secondaryLabelled += 1
                if named == labelled { secondaryCorrect += 1 }
            }
            if decision.taskForce == .triage, decision.predicted != .triage { triaged += 1 }
            confidences.append((decision.confidence, decision.predicted == example.label))
        }
        var scores: [ClassScore] = []
        for (index, label) in labels.enumerated() {
            let truePositive = Double(confusion[index][index])
            let predicted = Double(confusion.reduce(0) { $0 + $1[index] })
            let actual = Double(confusion[index].reduce(0, +))
            guard actual > 0 || predicted > 0 else { continue }
            let precision = predicted > 0 ? truePositive / predicted : 0
            let recall = actual > 0 ? truePositive / actual : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            scores.append(ClassScore(label: label, precision: precision, recall: recall, f1: f1, support: Int(actual)))
        }
        let total = Double(max(1, examples.count))
        self.labels = labels
        self.confusion = confusion
        self.accuracy = Double(labels.indices.reduce(0) { $0 + confusion[$1][$1] }) / total
        let scored = scores.filter { $0.support > 0 }
        self.macroF1 = scored.isEmpty ? 0 : scored.reduce(0) { $0 + $1.f1 } / Double(scored.count)
        self.scores = scores
        self.modelAccuracy = Double(modelCorrect) / total
        self.sentToTriage = triaged
        self.topThreeAccuracy = Double(inTopThree) / total
        self.secondary = examples.contains { $0.secondary != nil }
            ? (named: secondaryNamed, correct: secondaryCorrect, labelled: secondaryLabelled) : nil
        var bins: [CalibrationBin] = []
        var gap = 0.0
        for bin in 0..<5 {
            let lower = Double(bin) * 0.2, upper = bin == 4 ? 1.000_001 : Double(bin + 1) * 0.2
            let members = confidences.filter { $0.0 >= lower && $0.0 < upper }
            guard !members.isEmpty else { continue }
            let mean = members.reduce(0) { $0 + $1.0 } / Double(members.count)
            let hit = Double(members.filter(\.1).count) / Double(members.count)
            bins.append(CalibrationBin(lower: lower, upper: min(upper, 1), count: members.count, meanConfidence: mean, accuracy: hit))
            gap += Double(members.count) / total * abs(mean - hit)
        }
        self.calibration = bins
        self.expectedCalibrationError = gap
        let styled = examples.contains { $0.style != nil }, tagged = examples.contains { $0.language != nil }
        self.byStyle = styled ? Self.slices(outcomes, by: \.style) : []
        self.byLanguage = tagged ? Self.slices(outcomes, by: \.language) : []
    }

    private struct Outcome {
        let label: TaskForce
        let routed: TaskForce
        let inTopThree: Bool
        let style: String
        let language: String
    }

    private static func slices(_ outcomes: [Outcome], by key: KeyPath<Outcome, String>) -> [SliceScore] {
        Dictionary(grouping: outcomes, by: { $0[keyPath: key] }).sorted { $0.key < $1.key }.map { name, members in
            let count = Double(members.count)
            var f1s: [Double] = []
            for label in TaskForce.allCases {
                let truePositive = Double(members.filter { $0.label == label && $0.routed == label }.count)
                let actual = Double(members.filter { $0.label == label }.count)
                let routed = Double(members.filter { $0.routed == label }.count)
                guard actual > 0 || routed > 0 else { continue }
                let precision = routed > 0 ? truePositive / routed : 0, recall = actual > 0 ? truePositive / actual : 0
                f1s.append(precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0)
            }
            let triage = members.filter { $0.label == .triage }
            return SliceScore(
                name: name, count: members.count,
                accuracy: Double(members.filter { $0.label == $0.routed }.count) / count,
                macroF1: f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count),
                topThreeAccuracy: Double(members.filter(\.inTopThree).count) / count,
                triageRecall: triage.isEmpty ? nil : Double(triage.filter { $0.routed == .triage }.count) / Double(triage.count))
        }
    }

    /// A plain-text report for the terminal.
    package func report() -> String {
        func percent(_ value: Double) -> String { String(format: "%.3f", value) }
        var lines: [String] = []
        lines.append("accuracy \(percent(accuracy))   macro-F1 \(percent(macroF1))   model accuracy before triage threshold \(percent(modelAccuracy))   sent to triage by threshold \(sentToTriage)   top-3 accuracy \(percent(topThreeAccuracy))")
        if let secondary {
            let precision = secondary.named > 0 ? Double(secondary.correct) / Double(secondary.named) : 0
            let recall = secondary.labelled > 0 ? Double(secondary.correct) / Double(secondary.labelled) : 0
            lines.append("secondary task force (co-handling, at ≥ \(secondaryMinimum ?? RoutingDecision.secondaryMinimum)): named \(secondary.named), right \(secondary.correct) of \(secondary.labelled) labelled   precision \(percent(precision))   recall \(percent(recall))")
        }
        lines.append("")
        lines.append("class            precision  recall     f1  support")
        for score in scores {
            lines.append(score.label.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
                + " " + percent(score.precision).leftPadded(9) + " " + percent(score.recall).leftPadded(7)
                + " " + percent(score.f1).leftPadded(6) + " " + String(score.support).leftPadded(8))
        }
        lines.append("")
        lines.append("confusion (rows: actual, columns: routed)")
        let short = labels.map { String($0.rawValue.prefix(5)) }
        lines.append("".padding(toLength: 16, withPad: " ", startingAt: 0) + short.map { $0.leftPadded(6) }.joined())
        for (index, label) in labels.enumerated() where confusion[index].reduce(0, +) > 0 || confusion.contains(where: { $0[index] > 0 }) {
            lines.append(label.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + confusion[index].map { String($0).leftPadded(6) }.joined())
        }
        for (title, slices) in [("style", byStyle), ("language", byLanguage)] where !slices.isEmpty {
            lines.append("")
            lines.append(title.padding(toLength: 16, withPad: " ", startingAt: 0) + "       n  accuracy  macro-F1  top-3  triage recall")
            for slice in slices {
                lines.append(slice.name.padding(toLength: 16, withPad: " ", startingAt: 0) + String(slice.count).leftPadded(8)
                    + percent(slice.accuracy).leftPadded(10) + percent(slice.macroF1).leftPadded(10)
                    + percent(slice.topThreeAccuracy).leftPadded(7) + (slice.triageRecall.map(percent) ?? "-").leftPadded(15))
            }
        }
        lines.append("")
        lines.append("calibration (confidence of the model's best class)   ECE \(percent(expectedCalibrationError))")
        for bin in calibration {
            lines.append("  [\(String(format: "%.1f", bin.lower)), \(String(format: "%.1f", bin.upper))]  n=\(String(bin.count).leftPadded(4))  mean confidence \(percent(bin.meanConfidence))  accuracy \(percent(bin.accuracy))")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
