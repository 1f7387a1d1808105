import Foundation

/// A trained routing model: multinomial logistic regression over the features of
/// ``FeatureExtractor``, with a temperature that calibrates its confidences.
///
/// Stored as JSON (`data/routing/model.json`), produced by `dispatcher train` and
/// embedded into the binaries at build time.
package struct RoutingModel: Sendable, Codable, Equatable {
    /// Format version of this file.
    package var version: Int
    /// Class labels, in weight-row order.
    package var classes: [TaskForce]
    /// Feature names, in weight-column order.
    package var features: [String]
    /// Inverse document frequency of each feature in the training set (feature weighting).
    package var idf: [Float]
    /// `weights[class][feature]`.
    package var weights: [[Float]]
    package var bias: [Float]
    /// Softmax temperature fitted on out-of-fold predictions (calibration).
    package var temperature: Double
    /// Below this confidence a case goes to triage.
    package var triageThreshold: Double
    /// What it was trained on (counts, corpus fingerprint, settings), for reports.
    package var provenance: [String: String]
    /// Co-handling heads (version 3): `cohandlingWeights[class][feature]` and
    /// `cohandlingBias[class]` of one binary logistic model per task force, "this problem
    /// also needs that task force", trained on the two-part examples' `secondary` labels.
    /// Rows follow `classes`; the triage row is zero. Nil in older model files.
    package var cohandlingWeights: [[Float]]?
    package var cohandlingBias: [Float]?

    /// The model carried by this binary.
    /// - Throws: ``TaskForcesError`` when none was embedded.
    package static func bundled() throws -> RoutingModel {
        guard let file = embeddedFiles.first(where: { $0.name == "model.json" }) else {
            throw TaskForcesError.modelUnavailable("this build carries no data/routing/model.json; run `dispatcher train` and rebuild")
        }
        return try decode(Data(file.content.utf8))
    }

    /// Reads a model file.
    package static func decode(_ data: Data) throws -> RoutingModel {
        do {
            let model = try JSONDecoder().decode(RoutingModel.self, from: data)
            guard model.weights.count == model.classes.count, model.bias.count == model.classes.count,
                  model.weights.allSatisfy({ $0.count == model.features.count }), model.idf.count == model.features.count,
                  (model.cohandlingWeights == nil) == (model.cohandlingBias == nil),
                  model.cohandlingWeights.map({ $0.count == model.classes.count && $0.allSatisfy { $0.count == model.features.count } }) ?? true,
                  model.cohandlingBias.map({ $0.count == model.classes.count }) ?? true else {
                throw TaskForcesError.modelUnavailable("model file is inconsistent: weight matrix does not match classes × features")
            }
            return model
        } catch let error as TaskForcesError {
            throw error
        } catch {
            throw TaskForcesError.modelUnavailable("model file is not valid: \(error)")
        }
    }

    /// The JSON text of this model, stable byte for byte for the same model.
    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
