import CaseLedger
import Foundation
import TaskForces
import Testing

/// Randomized robustness tests of everything that reads untrusted input: the import
/// readers (JSONL and CSV), the corpus parser, the text normaliser and classifier, the
/// handler-output parser and the amount reader. Each iteration feeds random bytes and
/// mutations of valid and nasty inputs (`FuzzCorpus/`); nothing may crash or hang, and
/// every line must be either imported or rejected with its line number.
///
/// `FUZZ_ITERATIONS=20000 FUZZ_SEED=7 swift test --filter Fuzz` runs a long campaign
/// (`scripts/fuzz` does that); CI runs a short one.
@Suite("Fuzzing the input parsers")
struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"] ?? "") ?? 300
    static let seed = UInt64(ProcessInfo.processInfo.environment["FUZZ_SEED"] ?? "") ?? 0xF022

    static let corpus: [Data] = {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "FuzzCorpus")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.sorted().compactMap { FileManager.default.contents(atPath: folder.appending(path: $0).path) } + [
            Data("{\"text\": \"工厂停电两天了\", \"enterprise\": \"甲\", \"external_id\": \"1\"}\n".utf8),
            Data("text,enterprise,channel\n\"Refund, please\",Acme,app\n".utf8),
        ]
    }()

    /// One random input: raw bytes, or a seed input with random edits.
    static func input(_ random: inout SplitMix64) -> Data {
        if random.next() % 4 == 0 {
            return Data((0..<Int(random.next() % 2048)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        var bytes = [UInt8](corpus[Int(random.next() % UInt64(corpus.count))])
        let interesting: [[UInt8]] = [[0x00], [0x0A], [0x0D], [0x22], [0x2C], [0x5C], [0x7B], [0x7D], [0xFF], [0xC3], [0xE4, 0xB8], [0xF0, 0x9F, 0x98]]
        for _ in 0..<Int(1 + random.next() % 8) {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
            switch random.next() % 4 {
            case 0: bytes.insert(contentsOf: interesting[Int(random.next() % UInt64(interesting.count))], at: position)
            case 1: if position < bytes.count { bytes.remove(at: position) }
            case 2: if position < bytes.count { bytes[position] = UInt8(truncatingIfNeeded: random.next()) }
            default: bytes.insert(contentsOf: bytes.prefix(32), at: position)
            }
        }
        return Data(bytes)
    }

    @Test("import readers: random and mutated files never crash, and every line is imported or rejected with its number")
    func importReaders() throws {
        var random = SplitMix64(seed: Self.seed)
        for iteration in 0..<Self.iterations {
            let data = Self.input(&random)
            for ext in ["jsonl", "csv"] {
                let path = NSTemporaryDirectory() + "fuzz-\(iteration)-\(UUID().uuidString).\(ext)"
                try data.write(to: URL(fileURLWithPath: path))
                defer { try? FileManager.default.removeItem(atPath: path) }
                let reader = try ImportReader(path: path)
                var rows: [ImportRow] = []
                while true {
                    let batch = try reader.nextBatch(limit: 7)
                    if batch.isEmpty { break }
                    rows += batch
                }
                for row in rows {
                    if case .failure(let error) = row.result {
                        #expect(error.message.hasPrefix("line \(row.line)"), "\(ext) iteration \(iteration): \(error.message)")
                    }
                }
                // Line numbers only move forward and stay within the file.
                let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).count
                #expect(rows.map(\.line) == rows.map(\.line).sorted())
                #expect(rows.allSatisfy { $0.line >= 1 && $0.line <= lines })
            }
        }
    }

    @Test("corpus parser, normaliser, classifier, resolution and amount parsers survive random input")
    func textParsers() throws {
        var random = SplitMix64(seed: Self.seed &+ 1)
        let normalizer = try TextNormalizer()
        let classifier = RoutingClassifier(model: try RoutingModel.bundled(), normalizer: normalizer)
        for _ in 0..<Self.iterations {
            let data = Self.input(&random)
            let parsed = RoutingCorpus.parse(data, source: "fuzz")
            #expect(parsed.rejected.allSatisfy { $0.line >= 1 })
            let text = String(decoding: data, as: UTF8.self)
            _ = normalizer.normalize(text)
            _ = normalizer.script(of: text)
            if let decision = try? classifier.classify(text) {
                #expect((0...1).contains(decision.confidence))
            }
            _ = try? Resolution.parse(text)
            _ = AmountParser.largestYuan(in: normalizer.normalize(text))
        }
    }
}
