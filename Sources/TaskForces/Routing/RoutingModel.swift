import Foundation

/// A trained routing model: multinomial logistic regression over the features of
/// ``FeatureExtractor``, with a temperature that calibrates its confidences.
///
/// Stored as JSON (`data/routing/model.json`), produced by `dispatcher train` and
/// embedded into the binaries at build time.
public struct RoutingModel: Sendable, Codable, Equatable {
    /// Format version of this file.
    public var version: Int
    /// Class labels, in weight-row order.
    public var classes: [TaskForce]
    /// Feature names, in weight-column order.
    public var features: [String]
    /// Inverse document frequency of each feature in the training set (feature weighting).
    public var idf: [Float]
    /// `weights[class][feature]`.
    public var weights: [[Float]]
    public var bias: [Float]
    /// Softmax temperature fitted on out-of-fold predictions (calibration).
    public var temperature: Double
    /// Below this confidence a case goes to triage.
    public var triageThreshold: Double
    /// What it was trained on (counts, corpus fingerprint, settings), for reports.
    public var provenance: [String: String]

    /// The model carried by this binary.
    /// - Throws: ``DomainError/modelUnavailable(_:)`` when none was embedded.
    public static func bundled() throws -> RoutingModel {
        guard let file = embeddedFiles.first(where: { $0.name == "model.json" }) else {
            throw DomainError.modelUnavailable("this build carries no data/routing/model.json; run `dispatcher train` and rebuild")
        }
        return try decode(Data(file.content.utf8))
    }

    /// Reads a model file.
    public static func decode(_ data: Data) throws -> RoutingModel {
        do {
            let model = try JSONDecoder().decode(RoutingModel.self, from: data)
            guard model.weights.count == model.classes.count, model.bias.count == model.classes.count,
                  model.weights.allSatisfy({ $0.count == model.features.count }), model.idf.count == model.features.count else {
                throw DomainError.modelUnavailable("model file is inconsistent: weight matrix does not match classes × features")
            }
            return model
        } catch let error as DomainError {
            throw error
        } catch {
            throw DomainError.modelUnavailable("model file is not valid: \(error)")
        }
    }

    /// The JSON text of this model, stable byte for byte for the same model.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
