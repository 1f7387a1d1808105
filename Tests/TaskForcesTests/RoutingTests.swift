import Foundation
import TaskForces
import Testing

/// The repository's `data/routing` folder, found from this file's path.
let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "data/routing")

enum Routing {
    static let normalizer = try! TextNormalizer()
    static let classifier = RoutingClassifier(model: try! RoutingModel.bundled(), normalizer: normalizer)
}

@Suite("Text normalisation")
struct NormalizerTests {
    @Test("traditional Chinese becomes simplified through OpenCC")
    func traditionalToSimplified() {
        #expect(Routing.normalizer.normalize("瀋陽出臺15條政策") == "沈阳出台15条政策")
        #expect(Routing.normalizer.normalize("稅費減免沒有落實") == "税费减免没有落实")
    }

    @Test("NFKC folds full-width letters and digits; case and whitespace are normalised")
    func compatibilityAndCase() {
        #expect(Routing.normalizer.normalize("ＶＡＴ　Ｒｅｆｕｎｄ  １２３\n\t万元") == "vat refund 123 万元")
    }

    @Test("the script of a text is detected for the reply language")
    func scripts() {
        #expect(Routing.normalizer.script(of: "退税还没有到账") == .simplified)
        #expect(Routing.normalizer.script(of: "退稅還沒有到賬") == .traditional)
        #expect(Routing.normalizer.script(of: "Our refund has not arrived") == .english)
        #expect(Routing.normalizer.script(of: "我们的 VAT refund 还没到") == .simplified)
    }
}

@Suite("Routing model")
struct RoutingModelTests {
    @Test("routes typical problems in all three scripts", arguments: [
        ("增值税留抵退税申请两个月了还没到账", TaskForce.tax),
        ("區政府拖欠我們的工程款三百萬元已經兩年了", .credit),
        ("The court judgment in our favour has not been enforced for a year", .legal),
        ("工厂停电两天了，什么时候恢复供电", .infrastructure),
        ("Our bank refuses to renew the working-capital loan that falls due next month", .financing),
        ("高新技术企业认定的材料怎么准备", .innovation),
        ("Work permit for our German engineer has been pending for six weeks", .foreign),
    ])
    func typicalProblems(text: String, expected: TaskForce) throws {
        let decision = try Routing.classifier.classify(text)
        #expect(decision.taskForce == expected, "\(text) → \(decision.taskForce) \(decision.confidence) \(decision.terms.map(\.term))")
    }

    @Test("hard cases: a foreign firm's tax refund is tax; a loan extension because the government owes money is financing")
    func hardCases() throws {
        #expect(try Routing.classifier.classify("We are a wholly foreign-owned enterprise and our export VAT rebate has been delayed for four months").taskForce == .tax)
        #expect(try Routing.classifier.classify("政府欠我们的货款一直不还，导致银行贷款到期还不上，申请贷款展期").taskForce == .financing)
    }

    @Test("every decision explains itself with weighted terms and a confidence in [0, 1]")
    func explanations() throws {
        let decision = try Routing.classifier.classify("退税三个月没到账")
        #expect((0...1).contains(decision.confidence))
        #expect(!decision.terms.isEmpty)
        #expect(decision.terms.contains { $0.term.contains("退税") })
        #expect(decision.terms.map(\.weight) == decision.terms.map(\.weight).sorted(by: >))
        #expect(abs(decision.probabilities.values.reduce(0, +) - 1) < 1e-9)
    }

    @Test("the three most probable classes come most probable first, the best one at the head; the triage desk leaves triage out")
    func topThree() throws {
        let decision = try Routing.classifier.classify("退税没到账，另外工厂停电，还有贷款到期")
        let top = decision.top(3)
        #expect(top.count == 3)
        #expect(top.first?.taskForce == decision.predicted)
        #expect(top.map(\.probability) == top.map(\.probability).sorted(by: >))
        #expect(top.map(\.probability) == decision.probabilities.values.sorted(by: >).prefix(3).map { $0 })
        let offTopic = try Routing.classifier.classify("请问社区医院周末开门吗")
        let suggestions = offTopic.top(3, excluding: [.triage])
        #expect(suggestions.count == 3 && !suggestions.contains { $0.taskForce == .triage })
        // Deterministic: the same text gives the same list.
        #expect(try Routing.classifier.classify("退税没到账，另外工厂停电，还有贷款到期").top(3).map(\.taskForce) == top.map(\.taskForce))
    }

    @Test("a secondary task force comes from the co-handling heads: another task force than the route, never triage, never for a triage case")
    func secondaryTaskForce() throws {
        #expect(Routing.classifier.model.cohandlingWeights != nil, "the bundled model carries co-handling heads")
        for text in ["退税没到账，另外工厂停电，还有贷款到期", "请问社区医院周末开门吗", "政府拖欠工程款，我们想起诉", "退税三个月没到账"] {
            let decision = try Routing.classifier.classify(text)
            let secondary = decision.secondary()
            #expect(decision.cohandling[.triage] == nil && decision.cohandling.count == 7)
            if decision.predicted == .triage { #expect(secondary == nil, "\(text)") }
            if let secondary {
                #expect(secondary != .triage && secondary != decision.predicted)
                #expect((decision.cohandling[secondary] ?? 0) >= RoutingDecision.secondaryMinimum)
                let others = decision.cohandling.filter { $0.key != decision.predicted }
                #expect(others.values.allSatisfy { $0 <= decision.cohandling[secondary]! })
            }
            // Asking for any share at all names one; asking for more than certainty names none.
            if decision.predicted != .triage { #expect(decision.secondary(minimum: 0) != nil) }
            #expect(decision.secondary(minimum: 1.01) == nil)
        }
    }

    @Test("a two-part problem names the second task force for co-handling")
    func twoPartProblem() throws {
        // A broken investment promise to build a road: the government's promise and the road itself.
        let decision = try Routing.classifier.classify("区政府招商时承诺给我们修一条进厂道路，三年了路还没修，货车进不来")
        let pair: Set<TaskForce> = [.credit, .infrastructure]
        #expect(pair.contains(decision.predicted), "\(decision.probabilities)")
        #expect(decision.secondary().map { pair.contains($0) && $0 != decision.predicted } == true, "\(decision.cohandling)")
        // The triage desk asks the same for the task force the operator picks.
        #expect(decision.cohandlingPartner(of: decision.predicted) == decision.secondary())
        #expect(decision.cohandlingPartner(of: .triage) == nil)
        for lead in TaskForce.departments { #expect(decision.cohandlingPartner(of: lead) != lead) }
        // A single-part problem names none.
        #expect(try Routing.classifier.classify("增值税留抵退税申请两个月了还没到账").secondary() == nil)
    }

    @Test("a model without co-handling heads falls back to the runner-up")
    func runnerUpWithoutHeads() throws {
        var model = Routing.classifier.model
        model.cohandlingWeights = nil
        model.cohandlingBias = nil
        let plain = RoutingClassifier(model: model, normalizer: Routing.normalizer)
        let decision = try plain.classify("退税没到账，另外工厂停电，还有贷款到期")
        #expect(decision.cohandling.isEmpty)
        if let secondary = decision.secondary() {
            #expect(decision.top(2, excluding: [.triage]).last?.taskForce == secondary)
            #expect((decision.probabilities[secondary] ?? 0) >= RoutingDecision.runnerUpMinimum)
        }
    }

    @Test("a corpus line's optional secondary label is read, and a wrong one is reported")
    func secondaryLabels() {
        let parsed = RoutingCorpus.parse(Data("""
            {"text": "跨境付款被银行退回", "label": "foreign", "secondary": "financing"}
            {"text": "退税没到账", "label": "tax", "secondary": null}
            {"text": "x", "label": "tax", "secondary": "nowhere"}
            """.utf8), source: "t.jsonl")
        #expect(parsed.examples.map(\.secondary) == [.financing, nil])
        #expect(parsed.rejected.map(\.line) == [3])
        let styled = RoutingCorpus.parse(Data(#"{"text": "退税没到账", "label": "tax", "style": "terse", "language": "zh-Hans"}"#.utf8), source: "s.jsonl")
        #expect(styled.examples.first?.style == "terse" && styled.examples.first?.language == "zh-Hans")
    }

    @Test("off-topic or unsure text goes to triage, never silently to a queue")
    func triage() throws {
        let offTopic = try Routing.classifier.classify("请问社区医院周末开门吗")
        #expect(offTopic.taskForce == .triage && offTopic.predicted == .triage)
        // The explicit out-of-scope signal says so, rather than "low confidence".
        #expect(offTopic.triageReason?.contains("out of scope") == true, "\(offTopic.triageReason ?? "nil")")
        // An individual's own matter in a task force's words is out of scope too.
        #expect(try Routing.classifier.classify("我家暖气不热，物业也不管，老人孩子都冻感冒了").taskForce == .triage)
        let strict = RoutingClassifier(model: Routing.classifier.model, threshold: 0.999_999, normalizer: Routing.normalizer)
        let decision = try strict.classify("退税没到账，另外工厂停电，还有贷款到期")
        #expect(decision.taskForce == .triage)
        #expect(decision.triageReason?.contains("below the threshold") == true)
        #expect(decision.triageReason?.hasPrefix("uncertain") == true)
    }

    @Test("empty, over-long and NUL-containing texts are refused with a reason")
    func badText() {
        #expect(throws: TaskForcesError.self) { try Routing.classifier.classify(" \n ") }
        #expect(throws: TaskForcesError.self) { try Routing.classifier.classify(String(repeating: "x", count: RoutingClassifier.maximumTextLength + 1)) }
        #expect(throws: TaskForcesError.self) { try Routing.classifier.classify("a\u{0}") }
    }

    @Test("on the dev split: macro-F1 at least 0.92, and confidences calibrated")
    func devSplitQuality() throws {
        let dev = try RoutingCorpus.load(directory: corpusRoot.appending(path: "dev"))
        #expect(dev.rejected.isEmpty)
        let evaluation = try RoutingEvaluation(classifier: Routing.classifier, examples: dev.examples)
        #expect(evaluation.macroF1 >= 0.92, "\(evaluation.report())")
        #expect(evaluation.expectedCalibrationError <= 0.06, "\(evaluation.report())")
        // The label is among the top three at least as often as it is the best class.
        #expect(evaluation.topThreeAccuracy >= evaluation.modelAccuracy)
        #expect(evaluation.report().contains("top-3 accuracy"))
    }

    @Test("training is deterministic: the corpus reproduces the embedded model byte for byte")
    func deterministicTraining() async throws {
        let train = try RoutingCorpus.load(directory: corpusRoot.appending(path: "train"))
        // Train on a thread of its own: seconds of CPU must not occupy the test pool.
        let model = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RoutingModel, any Error>) in
            Thread {
                continuation.resume(with: Result { try RoutingTrainer(normalizer: Routing.normalizer).train(train.examples) })
            }.start()
        }
        let embedded = try RoutingModel.bundled()
        #expect(model.features == embedded.features)
        #expect(try model.encoded() == embedded.encoded(), "data/routing/model.json is stale: run `dispatcher train` and rebuild")
    }

    @Test("corpus files parse, and bad lines are reported with file and line")
    func corpusParsing() {
        let data = Data("{\"text\": \"退税\", \"label\": \"tax\"}\n{\"text\": \"x\", \"label\": \"police\"}\nnot json\n\n{\"label\": \"tax\"}\n".utf8)
        let parsed = RoutingCorpus.parse(data, source: "sample.jsonl")
        #expect(parsed.examples == [LabelledExample(text: "退税", label: .tax)])
        #expect(parsed.rejected.map(\.line) == [2, 3, 5])
        #expect(parsed.rejected[0].description.hasPrefix("sample.jsonl:2:"))
    }
}
