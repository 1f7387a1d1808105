import ArgumentParser
import CaseLedger
import Foundation
import TaskForces

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Route a problem text to a task force (no database needed).",
        discussion: """
            With TEXT: prints the task force, the confidence and the deciding terms.
            With --jsonl: reads {"id": …, "text": …} lines on stdin and writes one
            {"id": …, "task_force": …, "confidence": …, "terms": […]} line per input, in
            order; a bad line gets {"id": …, "error": …} and the rest go on.
            """)

    @Argument(help: "The problem text.")
    var text: String?
    @Flag(help: "Read JSON lines from standard input.")
    var jsonl = false
    @Flag(help: "Also print every class's probability and why a case went to triage.")
    var explain = false
    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let normalizer = try TextNormalizer()
        let classifier = try modelOptions.classifier(normalizer: normalizer)
        if jsonl {
            try classifyLines(classifier)
            return
        }
        guard let text else { throw ValidationError("give the problem TEXT, or --jsonl to read lines from stdin") }
        let decision = try classifier.classify(text)
        print("\(decision.taskForce.rawValue)\t\(String(format: "%.3f", decision.confidence))\t\(decision.terms.map(\.term).joined(separator: " "))")
        if explain {
            print("task force: \(decision.taskForce.rawValue) — \(decision.taskForce.chineseName) / \(decision.taskForce.englishName)")
            if let reason = decision.triageReason { print("triage because: \(reason) (model's best: \(decision.predicted.rawValue))") }
            print("terms (weight): " + decision.terms.map { "\($0.term) (\(String(format: "%.3f", $0.weight)))" }.joined(separator: ", "))
            print("top 3: " + decision.top(3).map { "\($0.taskForce.rawValue) \(String(format: "%.3f", $0.probability))" }.joined(separator: ", "))
            print("secondary (co-handling suggestion): \(decision.secondary()?.rawValue ?? "none")")
            if !decision.cohandling.isEmpty {
                let heads = decision.cohandling.filter { $0.key != decision.predicted }.sorted { $0.value > $1.value }.prefix(3)
                print("  also needs (co-handling heads, named at ≥ \(RoutingDecision.secondaryMinimum)): "
                    + heads.map { "\($0.key.rawValue) \(String(format: "%.3f", $0.value))" }.joined(separator: ", "))
            }
            for (label, probability) in decision.probabilities.sorted(by: { $0.value > $1.value }) {
                print("  \(label.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)) \(String(format: "%.3f", probability))")
            }
        }
    }

    private func classifyLines(_ classifier: RoutingClassifier) throws {
        let output = FileHandle.standardOutput
        var lineNumber = 0
        while let raw = readLine(strippingNewline: true) {
            lineNumber += 1
            var reply: [String: Any] = [:]
            let line = raw.utf8[...]
            switch JSONLines.object(Substring(raw).utf8[...]) {
            case .blank:
                continue
            case .invalid(let reason):
                reply = ["id": NSNull(), "line": lineNumber, "error": reason]
            case .object(let object):
                let id = object["id"] ?? NSNull()
                reply["id"] = id
                if let text = object["text"] as? String {
                    do {
                        let decision = try classifier.classify(text)
                        reply["task_force"] = decision.taskForce.rawValue
                        reply["confidence"] = (decision.confidence * 1000).rounded() / 1000
                        reply["terms"] = decision.terms.map(\.term)
                        reply["secondary"] = decision.secondary()?.rawValue ?? NSNull()
                        reply["top3"] = decision.top(3).map { ["task_force": $0.taskForce.rawValue, "probability": ($0.probability * 1000).rounded() / 1000] }
                    } catch {
                        reply["error"] = "line \(lineNumber): \(error)"
                    }
                } else {
                    reply["error"] = "line \(lineNumber): field \"text\" is missing or not a string"
                }
            }
            _ = line
            let data = try JSONSerialization.data(withJSONObject: reply, options: [.sortedKeys, .withoutEscapingSlashes])
            output.write(data + Data("\n".utf8))
        }
    }
}

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Rebuild the routing model from the labelled corpus (deterministic).",
        discussion: """
            Reads data/routing/train/*.jsonl, trains, calibrates, writes the model
            (default data/routing/model.json, which the next build embeds), and prints
            its quality on data/routing/dev/*.jsonl.
            """)

    @Option(help: "Folder with train/ and dev/ subfolders of labelled JSONL.")
    var corpus = "data/routing"
    @Option(help: "Where to write the model.")
    var output = "data/routing/model.json"
    @Option(help: "Also train on these labelled JSONL files.")
    var extra: [String] = []
    @Flag(name: .customLong("with-corrections"), help: "Also train on the corrections operators made (dispatcher reroute / triage assign); needs the database.")
    var withCorrections = false
    @OptionGroup var database: DatabaseOptions
    @Option(help: .hidden) var epochs: Int?
    @Option(help: .hidden) var l2: Float?
    @Option(name: .customLong("learning-rate"), help: .hidden) var learningRate: Float?
    @Option(name: .customLong("min-df"), help: .hidden) var minDF: Int?
    @Option(name: .customLong("secondary-share"), help: .hidden) var secondaryShare: Float?
    @Flag(name: .customLong("no-cohandling-heads"), help: .hidden) var noCohandlingHeads = false
    @Option(name: .customLong("triage-threshold"), help: "Confidence below which cases go to triage (stored in the model).") var triageThreshold: Double?

    func run() async throws {
        let normalizer = try TextNormalizer()
        let root = URL(fileURLWithPath: corpus)
        let train = try RoutingCorpus.load(directory: root.appending(path: "train"))
        var examples = train.examples
        var rejected = train.rejected
        for path in extra {
            let parsed = RoutingCorpus.parse(try Data(contentsOf: URL(fileURLWithPath: path)), source: path)
            examples += parsed.examples
            rejected += parsed.rejected
        }
        for bad in rejected { printError("skipped \(bad)") }
        if withCorrections {
            let connection = try await database.connect("dispatcher-train")
            let corrections = try await CaseOperations.corrections(on: connection)
            await connection.close()
            print("adding \(corrections.count) corrections from the case ledger")
            examples += corrections
        }
        var settings = RoutingTrainer.Settings()
        if let epochs { settings.epochs = epochs }
        if let l2 { settings.l2 = l2 }
        if let learningRate { settings.learningRate = learningRate }
        if let minDF { settings.minimumDocumentFrequency = minDF }
        if noCohandlingHeads { settings.cohandlingHeads = false }
        if let secondaryShare { settings.secondaryShare = secondaryShare }
        if let triageThreshold { settings.triageThreshold = triageThreshold }
        let started = Date()
        let model = try RoutingTrainer(settings: settings, normalizer: normalizer).train(examples)
        try model.encoded().write(to: URL(fileURLWithPath: output))
        print("trained on \(examples.count) examples (\(model.provenance["per_class"] ?? "")) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        print("\(model.features.count) features, temperature \(model.temperature); wrote \(output)")
        let dev = root.appending(path: "dev")
        if FileManager.default.fileExists(atPath: dev.path) {
            let devSet = try RoutingCorpus.load(directory: dev)
            let evaluation = try RoutingEvaluation(classifier: RoutingClassifier(model: model, normalizer: normalizer), examples: devSet.examples)
            print("\ndev split (\(devSet.examples.count) examples):")
            print(evaluation.report())
        }
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure routing on a labelled JSONL file ({\"text\": …, \"label\": …} per line).")

    @Argument(help: "Labelled JSONL file(s).")
    var files: [String]
    @Option(name: .customLong("secondary-minimum"), help: "Co-handling probability a second task force needs to be named (default \(RoutingDecision.secondaryMinimum)).")
    var secondaryMinimum: Double?
    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one labelled JSONL file") }
        let normalizer = try TextNormalizer()
        let classifier = try modelOptions.classifier(normalizer: normalizer)
        var examples: [LabelledExample] = []
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path): no such file or not readable")
            }
            let parsed = RoutingCorpus.parse(data, source: path)
            for bad in parsed.rejected { printError("skipped \(bad)") }
            examples += parsed.examples
        }
        guard !examples.isEmpty else { throw ValidationError("no valid labelled lines in \(files.joined(separator: ", "))") }
        print("\(examples.count) examples")
        print(try RoutingEvaluation(classifier: classifier, examples: examples, secondaryMinimum: secondaryMinimum).report())
    }
}
