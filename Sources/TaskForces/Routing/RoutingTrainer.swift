import Foundation

/// Trains a ``RoutingModel`` from labelled examples, deterministically: the same
/// corpus and settings give the same model, byte for byte.
///
/// Multinomial logistic regression by stochastic gradient descent (seeded shuffles,
/// class-balanced example weights, L2 decay), over features seen in at least
/// `minimumDocumentFrequency` examples. The softmax temperature is then fitted on
/// out-of-fold predictions (k-fold cross-validation on the training set), so the
/// confidences are calibrated without looking at the dev split.
package struct RoutingTrainer: Sendable {
    /// Training settings, recorded in the model's provenance.
    package struct Settings: Sendable, Equatable {
        package var epochs = 30
        package var learningRate: Float = 2.0
        package var l2: Float = 2e-5
        package var minimumDocumentFrequency = 2
        package var folds = 4
        package var seed: UInt64 = 0x5EED_2026
        package var triageThreshold = 0.5
        /// Share of the target given to an example's `secondary` task force (two-part
        /// problems): the model learns to split its probability between the two, which
        /// names the co-handling task force and keeps both in the top three.
        package var secondaryShare: Float = 0.3
        /// Train the co-handling heads (one binary model per task force on the
        /// `secondary` labels); off gives a model without them (runner-up rule).
        package var cohandlingHeads = true
        package init() {}
    }

    package let settings: Settings
    private let normalizer: TextNormalizer
    private let extractor = FeatureExtractor()

    package init(settings: Settings = Settings(), normalizer: TextNormalizer) {
        self.settings = settings
        self.normalizer = normalizer
    }

    /// Trains on `examples` and calibrates.
    package func train(_ examples: [LabelledExample]) throws -> RoutingModel {
        let classes = TaskForce.allCases.filter { label in examples.contains { $0.label == label } }
        guard classes.count >= 2 else { throw TaskForcesError.invalidInput("training needs examples of at least two classes") }
        let counts = examples.map { extractor.features(of: normalizer.normalize($0.text)) }
        var documentFrequency: [String: Int] = [:]
        for features in counts { for feature in features.keys { documentFrequency[feature, default: 0] += 1 } }
        let features = documentFrequency.filter { $0.value >= settings.minimumDocumentFrequency }.keys.sorted()
        var index: [String: Int] = [:]
        for (position, feature) in features.enumerated() { index[feature] = position }
        let documents = Float(examples.count)
        let idf = features.map { log((1 + documents) / (1 + Float(documentFrequency[$0]!))) + 1 }
        let vectors = counts.map { RoutingClassifier.vector($0, index: index, idf: idf) }
        let labels = examples.map { classes.firstIndex(of: $0.label)! }
        let seconds = examples.map { example in example.secondary.flatMap { $0 == example.label ? nil : classes.firstIndex(of: $0) } }

        // Calibration: out-of-fold logits for every training example.
        var outOfFold = [[Double]](repeating: [], count: examples.count)
        let folds = max(2, settings.folds)
        for fold in 0..<folds {
            let trainIndexes = examples.indices.filter { $0 % folds != fold }
            let heldOut = examples.indices.filter { $0 % folds == fold }
            let (weights, bias) = fit(vectors: trainIndexes.map { vectors[$0] }, labels: trainIndexes.map { labels[$0] },
                                      seconds: trainIndexes.map { seconds[$0] }, classCount: classes.count, featureCount: features.count)
            for example in heldOut {
                outOfFold[example] = Self.logits(vector: vectors[example], weights: weights, bias: bias)
            }
        }
        let temperature = Self.fitTemperature(logits: outOfFold, labels: labels)

        let (weights, bias) = fit(vectors: vectors, labels: labels, seconds: seconds, classCount: classes.count, featureCount: features.count)
        func round(_ value: Float) -> Float { (value * 10_000).rounded() / 10_000 }
        var cohandling: (weights: [[Float]], bias: [Float])?
        if settings.cohandlingHeads, seconds.contains(where: { $0 != nil }) {
            var headWeights: [[Float]] = [], headBias: [Float] = []
            for (position, label) in classes.enumerated() {
                guard label != .triage else {
                    headWeights.append([Float](repeating: 0, count: features.count)); headBias.append(0); continue
                }
                // Examples of another task force: does it also need this one?
                let members = examples.indices.filter { labels[$0] != position && examples[$0].label != .triage }
                let (weights, bias) = fitBinary(vectors: members.map { vectors[$0] }, positive: members.map { seconds[$0] == position },
                                                featureCount: features.count, seed: settings.seed &+ UInt64(position))
                headWeights.append(weights.map(round)); headBias.append(round(bias))
            }
            cohandling = (headWeights, headBias)
        }
        var fingerprint: UInt64 = 0xcbf2_9ce4_8422_2325
        for example in examples {
            for byte in (example.label.rawValue + "\t" + example.text + "\n").utf8 { fingerprint = (fingerprint ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        var perClass: [String] = []
        for label in classes { perClass.append("\(label.rawValue)=\(examples.filter { $0.label == label }.count)") }
        return RoutingModel(
            version: cohandling == nil ? 2 : 3, classes: classes, features: features, idf: idf.map(round),
            weights: weights.map { $0.map(round) }, bias: bias.map(round),
            temperature: (temperature * 1000).rounded() / 1000,
            triageThreshold: settings.triageThreshold,
            provenance: [
                "examples": String(examples.count),
                "per_class": perClass.joined(separator: " "),
                "corpus_fnv1a64": String(fingerprint, radix: 16),
                "features": String(features.count),
                "settings": "epochs=\(settings.epochs) lr=\(settings.learningRate) l2=\(settings.l2) min_df=\(settings.minimumDocumentFrequency) folds=\(folds) seed=\(settings.seed) secondary_share=\(settings.secondaryShare)",
                "calibration": "temperature fitted on \(folds)-fold out-of-fold predictions",
                "cohandling": cohandling == nil ? "none (runner-up rule)"
                    : "one binary head per task force on \(seconds.compactMap { $0 }.count) two-part examples",
            ],
            cohandlingWeights: cohandling?.weights, cohandlingBias: cohandling?.bias)
    }

    /// SGD on the softmax cross-entropy; the target of an example is its label, or
    /// `1 - secondaryShare` on its label and `secondaryShare` on its secondary task force.
    private func fit(vectors: [[(Int, Float)]], labels: [Int], seconds: [Int?], classCount: Int, featureCount: Int) -> ([[Float]], [Float]) {
        var weights = [[Float]](repeating: [Float](repeating: 0, count: featureCount), count: classCount)
        var bias = [Float](repeating: 0, count: classCount)
        var perClass = [Int](repeating: 0, count: classCount)
        for label in labels { perClass[label] += 1 }
        let average = Float(labels.count) / Float(classCount)
        let exampleWeight = perClass.map { $0 > 0 ? average / Float($0) : 0 }
        var random = SplitMix64(seed: settings.seed)
        var order = Array(vectors.indices)
        var step: Float = 0
        var probabilities = [Float](repeating: 0, count: classCount)
        for _ in 0..<settings.epochs {
            // Fisher–Yates with our own generator: identical on every platform.
            if order.count > 1 {
                for position in stride(from: order.count - 1, to: 0, by: -1) {
                    let other = Int(random.next() % UInt64(position + 1))
                    order.swapAt(position, other)
                }
            }
            for example in order {
                let vector = vectors[example]
                let rate = settings.learningRate / (1 + 0.0005 * step)
                step += 1
                var top = -Float.infinity
                for label in 0..<classCount {
                    var logit = bias[label]
                    for (feature, value) in vector { logit += weights[label][feature] * value }
                    probabilities[label] = logit
                    top = max(top, logit)
                }
                var sum: Float = 0
                for label in 0..<classCount { probabilities[label] = exp(probabilities[label] - top); sum += probabilities[label] }
                let scale = exampleWeight[labels[example]]
                let second = seconds[example]
                let primaryTarget: Float = second == nil ? 1 : 1 - settings.secondaryShare
                for label in 0..<classCount {
                    let target: Float = label == labels[example] ? primaryTarget : (label == second ? settings.secondaryShare : 0)
                    let gradient = (probabilities[label] / sum - target) * scale
                    bias[label] -= rate * gradient
                    for (feature, value) in vector {
                        weights[label][feature] -= rate * (gradient * value + settings.l2 * weights[label][feature])
                    }
                }
            }
        }
        return (weights, bias)
    }

    /// Binary logistic regression by SGD, positives and negatives weighted to balance.
    private func fitBinary(vectors: [[(Int, Float)]], positive: [Bool], featureCount: Int, seed: UInt64) -> ([Float], Float) {
        var weights = [Float](repeating: 0, count: featureCount)
        var bias: Float = 0
        let positives = positive.filter { $0 }.count, negatives = positive.count - positives
        guard positives > 0, negatives > 0 else { return (weights, positives > 0 ? 4 : -4) }
        let half = Float(positive.count) / 2
        let positiveWeight = half / Float(positives), negativeWeight = half / Float(negatives)
        var random = SplitMix64(seed: seed)
        var order = Array(vectors.indices)
        var step: Float = 0
        for _ in 0..<settings.epochs {
            for position in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(position, Int(random.next() % UInt64(position + 1)))
            }
            for example in order {
                let rate = settings.learningRate / (1 + 0.0005 * step)
                step += 1
                var logit = bias
                for (feature, value) in vectors[example] { logit += weights[feature] * value }
                let probability = 1 / (1 + exp(-logit))
                let gradient = (probability - (positive[example] ? 1 : 0)) * (positive[example] ? positiveWeight : negativeWeight)
                bias -= rate * gradient
                for (feature, value) in vectors[example] {
                    weights[feature] -= rate * (gradient * value + settings.l2 * weights[feature])
                }
            }
        }
        return (weights, bias)
    }

    static func logits(vector: [(Int, Float)], weights: [[Float]], bias: [Float]) -> [Double] {
        bias.indices.map { label in
            var logit = Double(bias[label])
            for (feature, value) in vector { logit += Double(weights[label][feature] * value) }
            return logit
        }
    }

    /// The temperature minimising the negative log-likelihood of the true labels.
    static func fitTemperature(logits: [[Double]], labels: [Int]) -> Double {
        var best = (temperature: 1.0, loss: Double.infinity)
        var temperature = 0.2
        while temperature <= 5.0 {
            var loss = 0.0
            for (row, label) in zip(logits, labels) where !row.isEmpty {
                let scaled = row.map { $0 / temperature }
                let top = scaled.max()!
                let logSum = log(scaled.reduce(0) { $0 + exp($1 - top) }) + top
                loss += logSum - scaled[label]
            }
            if loss < best.loss { best = (temperature, loss) }
            temperature += 0.02
        }
        return best.temperature
    }
}

/// A small, fast, portable pseudo-random generator (SplitMix64), for deterministic training.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
