import Foundation
import Synchronization
import TaskForces
import Testing

/// The fast paths of intake (feature ids from UTF-8 bytes, the normaliser's fast path, the
/// cached working calendar) give exactly what the reference implementations give.
enum FastPath {
    /// Every text of the corpus (train, dev and test splits) and the sample problems.
    static let corpusTexts: [String] = {
        var texts: [String] = []
        for split in ["train", "dev", "test"] {
            let loaded = try! RoutingCorpus.load(directory: corpusRoot.appending(path: split))
            texts += loaded.examples.map(\.text)
        }
        let samples = corpusRoot.deletingLastPathComponent().appending(path: "samples/problems.jsonl")
        for line in (try? String(contentsOf: samples, encoding: .utf8))?.split(separator: "\n") ?? [] {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let text = object["text"] as? String {
                texts.append(text)
            }
        }
        return texts
    }()

    /// Texts that take the edges: characters the byte path must leave to the reference,
    /// stemming, stop words, numbers, amounts, mixed scripts and spacing.
    static let edgeTexts: [String] = [
        "", " ", "a", "ab", "the tax", "engineer's permit", "Applications, applied, applies; studies studied",
        "ＶＡＴ　Ｒｅｆｕｎｄ  １２３\n\t万元", "退税还没有到账 VAT refund 50000 rmb", "¥3000 ￥50 $20 yuan",
        "café crème naïve façade résumé", "e\u{301}cole", "caf\u{E9}s", "한국 기업 세금 환급", "がぎぐ ｶﾞｷﾞ",
        "emoji 👍🏽 and 👨‍👩‍👧 family", "flags 🇨🇳🇺🇸", "葛\u{E0100}葛 variation", "台\u{FE0F}湾", "\u{F900}\u{F901}\u{8C48}", "Ⅻ ½ ㈱ ﬁ",
        "Ǆemal ǅ ǆ", "ΑΒΓ σς Σ", "Привет налог", "ٱلضريبة", "हिन्दी", "\u{200B}zero\u{200D}width\u{2060}",
        "x\u{0}y", "CRLF\r\nline", "mixed中文english混合text123abc", "12345 67890 1.5 2,000",
        "〇〆々 〡〢〣 〪〭 〱〲", "𠀀𠀁𠀂 𪜀 𰀀", "丽 丸", "a‐b–c—d…e‰f′g‹h›", "\u{A0}nbsp\u{AD}shy",
        "ations ation ments ment ings ing ies ied ers ed es er ly s", "tries triedly flies", "tax tax tax tax",
        "我们的 VAT refund 还没到", "区政府拖欠我们的工程款三百万元已经两年了", "Ｈｅｌｌｏ， ｗｏｒｌｄ！",
    ]
}

@Suite("Fast routing paths")
struct FastRoutingTests {
    @Test("feature ids from UTF-8 bytes give the reference's vectors and decisions on the whole corpus")
    func vectorsAreIdentical() throws {
        let classifier = Routing.classifier
        var byteTexts = 0
        let extractor = FeatureExtractor()
        let table = FeatureTable(classifier.model.features)
        for text in FastPath.corpusTexts + FastPath.edgeTexts {
            let normalized = classifier.textNormalizer.normalize(text)
            let fast = classifier.vectorize(normalized)
            let reference = classifier.referenceVectorize(normalized)
            #expect(fast.map(\.0) == reference.map(\.0), "\(text)")
            #expect(fast.map(\.1.bitPattern) == reference.map(\.1.bitPattern), "\(text)")
            #expect(classifier.classify(normalized: normalized) == classifier.referenceClassify(normalized: normalized), "\(text)")
            if extractor.featureCounts(of: normalized, table: table) != nil { byteTexts += 1 }
        }
        // The corpus is what intake sees: nearly all of it takes the byte path.
        #expect(byteTexts >= FastPath.corpusTexts.count * 95 / 100, "\(byteTexts) of \(FastPath.corpusTexts.count)")
    }

    @Test("the byte path counts the same features as features(of:) for every name of a table, also unnormalised text")
    func countsMatchTheReference() {
        let extractor = FeatureExtractor()
        for text in FastPath.edgeTexts + FastPath.corpusTexts.prefix(300) {
            for input in [text, text.lowercased(), Routing.classifier.textNormalizer.normalize(text)] {
                let reference = extractor.features(of: input)
                // A table of exactly the reference's names: every feature must be found, with its count.
                let names = reference.keys.sorted()
                let table = FeatureTable(names + ["w:never seen", "l:zzz"])
                guard let fast = extractor.featureCounts(of: input, table: table) else { continue }
                #expect(fast.map { names[$0.0] } == names, "\(input)")
                #expect(fast.map(\.1) == names.map { reference[$0]! }, "\(input)")
            }
        }
    }

    @Test("the byte path leaves to the reference what could join characters")
    func unsafeTextsFallBack() {
        let extractor = FeatureExtractor()
        let table = FeatureTable(["a"])
        for text in ["e\u{301}cole", "👍🏽", "한국", "葛\u{E0100}", "台\u{FE0F}", "\u{200D}", "ｶﾞ", "\u{F900}", "\u{AD}"] {
            #expect(extractor.featureCounts(of: text, table: table) == nil, "\(text)")
        }
        #expect(extractor.featureCounts(of: "退税 vat refund", table: table) != nil)
    }
}

@Suite("Fast normalisation")
struct FastNormalizerTests {
    @Test("the fast path normalises the whole corpus and the edge texts exactly as Foundation does")
    func normalisationIsIdentical() {
        let normalizer = Routing.normalizer
        for text in FastPath.corpusTexts + FastPath.edgeTexts {
            #expect(Array(normalizer.normalize(text).utf8) == Array(normalizer.referenceNormalize(text).utf8), "\(text)")
        }
    }

    @Test("every scalar the fast path maps alone, and beside its neighbours, maps as Foundation maps it")
    func everyTableEntry() {
        let normalizer = Routing.normalizer
        var handled: [String] = []
        for value in 0x20..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
            let text = String(scalar)
            guard TextNormalizer.takesFastPath(text) else { continue }
            handled.append(text)
            #expect(Array(normalizer.normalize(text).utf8) == Array(normalizer.referenceNormalize(text).utf8), "U+\(String(value, radix: 16))")
        }
        #expect(handled.count > 27_000)
        // In company: each handled scalar between letters, ideographs and punctuation.
        let neighbours = ["a", "Ａ", "é", "税", "，", " ", "\u{3000}", "¼", "…"]
        for (index, text) in handled.enumerated() where index % 7 == 0 || !text.unicodeScalars.first!.properties.isIdeographic {
            let neighbour = neighbours[index % neighbours.count]
            let sample = neighbour + text + neighbour + text + "x"
            #expect(Array(normalizer.normalize(sample).utf8) == Array(normalizer.referenceNormalize(sample).utf8), "\(sample)")
        }
    }

    @Test("validation is unchanged: blank, over-long and NUL texts are refused")
    func validation() {
        #expect(throws: TaskForcesError.self) { try RoutingClassifier.validate(" \n\t\u{3000}\u{A0}") }
        #expect(throws: TaskForcesError.self) { try RoutingClassifier.validate(String(repeating: "税", count: 20_001)) }
        #expect(throws: TaskForcesError.self) { try RoutingClassifier.validate(String(repeating: "a", count: 20_001)) }
        #expect(throws: TaskForcesError.self) { try RoutingClassifier.validate("a\u{0}b") }
        #expect(throws: Never.self) { try RoutingClassifier.validate(String(repeating: "e\u{301}", count: 15_000)) }
        // Blank exactly when Foundation trims the text to nothing.
        for text in FastPath.edgeTexts + ["\u{200B}", "\u{85}", "\u{2028}\u{2029}", " \u{301}", "\u{FEFF}", "\u{3000}x"] {
            let blank = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            #expect(((try? RoutingClassifier.validate(text)) == nil) == (blank || text.contains("\u{0}")), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }
}

@Suite("Cached working calendar")
struct CachedCalendarTests {
    /// Instants from December 2024 to February 2027 (both covered years, their holidays and
    /// make-up days, and a year without holiday data), every 5 h 17 min plus odd seconds and
    /// fractions, and around each period boundary of every holiday and make-up day.
    static func instants(_ calendar: WorkCalendar) -> [Date] {
        var instants: [Date] = []
        let first = Date(timeIntervalSince1970: 1_733_011_200)    // 2024-12-01 00:00 UTC
        let last = Date(timeIntervalSince1970: 1_801_440_000)     // 2027-01-31 UTC
        var moment = first
        var jitter: UInt64 = 0x9E37_79B9_7F4A_7C15
        while moment < last {
            jitter = jitter &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            instants.append(moment.addingTimeInterval(Double(jitter >> 40 % 3_600) + Double(jitter % 1_000) / 1_000))
            moment = moment.addingTimeInterval(5 * 3_600 + 17 * 60)
        }
        // Boundaries (Asia/Shanghai is UTC+8): 00:00, 08:29:59.5, 08:30, 12:00, 13:00, 17:30, 23:59:59.
        var day = first
        while day < last {
            if calendar.isHoliday(day) || calendar.isMakeupWorkday(day) || !calendar.isWorkingDay(day) {
                let localMidnight = day.addingTimeInterval(-8 * 3_600)
                for minute in [0.0, 509.99, 510, 720, 780, 1_050, 1_439.99] {
                    instants.append(localMidnight.addingTimeInterval(minute * 60))
                }
            }
            day = day.addingTimeInterval(86_400)
        }
        return instants
    }

    static let spans: [TimeInterval] = [1, 1_800, 3 * 3_600, 8 * 3_600, 27 * 3_600, 48 * 3_600, 200 * 3_600]

    @Test("deadline arithmetic with the day cache equals Foundation's Calendar day by day, holidays and make-up days included")
    func cachedEqualsUncached() throws {
        let calendar = try WorkCalendar.bundledDefault()
        let instants = Self.instants(calendar)
        #expect(instants.count > 3_000)
        for (index, start) in instants.enumerated() {
            let span = Self.spans[index % Self.spans.count]
            #expect(calendar.addingWorkingTime(span, to: start) == calendar.uncachedAddingWorkingTime(span, to: start), "\(start) + \(span)")
            #expect(calendar.addingWorkingTime(span * 0.75, to: start) == calendar.uncachedAddingWorkingTime(span * 0.75, to: start), "\(start) + \(span * 0.75)")
            let end = start.addingTimeInterval(span * 3)
            #expect(calendar.workingTime(from: start, to: end) == calendar.uncachedWorkingTime(from: start, to: end), "\(start) → \(end)")
            #expect(calendar.uncoveredYears(from: start, to: end) == calendar.uncachedUncoveredYears(from: start, to: end))
        }
    }

    @Test("the cache gives the same answers in any order of instants, far in the past or future, and from many threads")
    func anyOrderAndThreads() throws {
        let calendar = try WorkCalendar.bundledDefault()
        var instants = Self.instants(calendar).enumerated().filter { $0.offset % 5 == 0 }.map(\.element)
        instants += [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 4_102_444_800), Date(timeIntervalSince1970: 1_000_000_000)]
        var generator = SplitMix(seed: 7)
        instants.shuffle(using: &generator)
        let expected = instants.map { calendar.uncachedAddingWorkingTime(40 * 3_600, to: $0) }
        let fresh = try WorkCalendar.bundledDefault()
        let results = Mutex<[Int: Date]>([:])
        let shuffled = instants
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for index in stride(from: worker, to: shuffled.count, by: 4) {
                let due = fresh.addingWorkingTime(40 * 3_600, to: shuffled[index])
                results.withLock { $0[index] = due }
            }
        }
        #expect(results.withLock { dues in shuffled.indices.map { dues[$0]! } } == expected)
        // Ten thousand working hours: past the cache's size, the uncached walk goes on.
        let start = Date(timeIntervalSince1970: 1_764_547_200)
        #expect(fresh.addingWorkingTime(10_000 * 3_600, to: start) == fresh.uncachedAddingWorkingTime(10_000 * 3_600, to: start))
        #expect(fresh.workingTime(from: start, to: start.addingTimeInterval(40 * 365 * 86_400))
                == fresh.uncachedWorkingTime(from: start, to: start.addingTimeInterval(40 * 365 * 86_400)))
    }
}

private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Explanation terms")
struct ExplanationTermTests {
    @Test("the byte search for terms inside chosen terms answers as Foundation's contains")
    func containsIsFoundations() {
        let names = Routing.classifier.model.features.filter { !$0.hasPrefix("l:") && !$0.hasPrefix("#") }
            .map { $0.hasPrefix("w:") ? String($0.dropFirst(2)) : $0 }
        let sample = names.enumerated().filter { $0.offset % 53 == 0 }.map(\.element)
            + ["退税", "税", "tax refund", "tax", "refund", "", "é", "e\u{301}", "café", "ﬁ", "fi", "Tax"]
        for haystack in sample {
            for needle in sample.prefix(120) + [String(haystack.prefix(1)), String(haystack.suffix(2))] {
                #expect(RoutingClassifier.contains(haystack, needle) == haystack.contains(needle), "\(haystack) ⊇ \(needle)")
            }
        }
    }
}
