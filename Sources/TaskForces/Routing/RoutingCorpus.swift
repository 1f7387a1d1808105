import Foundation

/// One labelled problem text: a line `{"text": …, "label": …}` of the routing corpus.
package struct LabelledExample: Sendable, Equatable, Codable {
    package let text: String
    package let label: TaskForce
    /// For a problem with two parts, the task force that should co-handle it (the
    /// optional `secondary` field); training gives it a share of the target
    /// (``RoutingTrainer/Settings/secondaryShare``), evaluation checks it is named.
    package let secondary: TaskForce?
    /// How the text is written (`transcript`, `ticket`, `terse`, `noisy`, `formal`,
    /// `english`, `mixed`), when the line says; evaluation reports per style.
    package let style: String?
    /// The line's language tag (`zh-Hans`, `zh-Hant`, `en`, `mixed`), when it says.
    package let language: String?

    package init(text: String, label: TaskForce, secondary: TaskForce? = nil, style: String? = nil, language: String? = nil) {
        self.text = text
        self.label = label
        self.secondary = secondary
        self.style = style
        self.language = language
    }
}

/// Reading labelled JSONL files (`data/routing/train/*.jsonl`, `dev/*.jsonl`, or any
/// file given to `dispatcher eval`).
package enum RoutingCorpus {
    /// A line that could not be read, with its place and reason.
    package struct BadLine: CustomStringConvertible, Sendable {
        package let source: String
        package let line: Int
        package let reason: String
        package var description: String { "\(source):\(line): \(reason)" }
    }

    /// Parses JSONL text. Blank lines are skipped; every other line must be an object
    /// with a non-empty `text` and a known `label`.
    /// - Returns: the examples, and the lines that were rejected (valid lines are kept).
    package static func parse(_ data: Data, source: String) -> (examples: [LabelledExample], rejected: [BadLine]) {
        var examples: [LabelledExample] = []
        var rejected: [BadLine] = []
        for (number, line) in JSONLines.split(data) {
            switch JSONLines.object(line) {
            case .invalid(let reason):
                rejected.append(BadLine(source: source, line: number, reason: reason))
            case .blank:
                continue
            case .object(let object):
                guard let text = object["text"] as? String else {
                    rejected.append(BadLine(source: source, line: number, reason: "field \"text\" is missing or not a string"))
                    continue
                }
                guard let labelText = object["label"] as? String else {
                    rejected.append(BadLine(source: source, line: number, reason: "field \"label\" is missing or not a string"))
                    continue
                }
                do {
                    try RoutingClassifier.validate(text)
                    let secondary = try (object["secondary"] as? String).map { try TaskForce(parsing: $0) }
                    examples.append(LabelledExample(
                        text: text, label: try TaskForce(parsing: labelText), secondary: secondary,
                        style: object["style"] as? String, language: object["language"] as? String))
                } catch {
                    rejected.append(BadLine(source: source, line: number, reason: "\(error)"))
                }
            }
        }
        return (examples, rejected)
    }

    /// Reads every `*.jsonl` file of a folder, in name order.
    package static func load(directory: URL) throws -> (examples: [LabelledExample], rejected: [BadLine]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        guard !names.isEmpty else { throw TaskForcesError.invalidInput("no .jsonl files in \(directory.path)") }
        var examples: [LabelledExample] = []
        var rejected: [BadLine] = []
        for name in names {
            let url = directory.appending(path: name)
            let parsed = parse(try Data(contentsOf: url), source: url.path)
            examples += parsed.examples
            rejected += parsed.rejected
        }
        return (examples, rejected)
    }
}

/// Splitting and decoding JSON Lines, with a clear reason for each bad line.
package enum JSONLines {
    /// Lines with their 1-based numbers. Invalid UTF-8 inside a line is kept as
    /// replacement characters so that the line can be reported, not lost.
    package static func split(_ data: Data) -> [(Int, Substring.UTF8View.SubSequence)] {
        var lines: [(Int, Substring.UTF8View.SubSequence)] = []
        let whole = Substring(decoding: data, as: UTF8.self)
        var number = 0
        for line in whole.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            lines.append((number, line.utf8[...]))
        }
        if let last = lines.last, last.1.isEmpty { lines.removeLast() }
        return lines
    }

    /// What one line holds.
    package enum Line {
        case blank
        case object([String: Any])
        case invalid(String)
    }

    /// Decodes one line as a JSON object.
    package static func object(_ line: Substring.UTF8View.SubSequence) -> Line {
        let text = Substring(line)
        if text.trimmingCharacters(in: .whitespaces).isEmpty || text == "\r" { return .blank }
        if text.contains("\u{FFFD}") { return .invalid("the line is not valid UTF-8; save the file as UTF-8") }
        let bytes = Data(text.utf8)
        guard let value = try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]) else {
            return .invalid("not valid JSON; each line must be one JSON object like {\"text\": \"…\"}")
        }
        guard let object = value as? [String: Any] else {
            return .invalid("a JSON \(value is [Any] ? "array" : "value") where an object {…} was expected")
        }
        return .object(object)
    }
}
