import Foundation
import TaskForces
import Testing

enum Advisor {
    static let advisor = CaseAdvisor(
        catalogue: try! MeasuresCatalogue.bundled(), escalationTerms: try! EscalationTerms.bundled(), classifier: Routing.classifier)

    static func facts(_ text: String, _ taskForce: TaskForce, source: String = "automatic", repeats: Int = 0, level: Int = 0) -> CaseFacts {
        CaseFacts(caseID: 1, text: text, taskForce: taskForce, language: Routing.normalizer.script(of: text),
                  escalationLevel: level, repeatCount: repeats, routingSource: source, enterprise: "测试公司")
    }
}

@Suite("The advisor handler")
struct AdvisorTests {
    @Test("a routine case is resolved with the measures that apply and a reply in the case's own script",
          arguments: [
            ("工厂停电两天了，请尽快恢复供电", TaskForce.infrastructure, "您好"),
            ("工廠停電兩天了，請盡快恢復供電", .infrastructure, "您好"),
            ("Our plant has had a power cut for two days, please restore the electricity supply", .infrastructure, "Thank you"),
          ])
    func routineResolved(text: String, taskForce: TaskForce, greeting: String) {
        let resolution = Advisor.advisor.advise(Advisor.facts(text, taskForce))
        #expect(resolution.outcome == .resolved)
        #expect(!resolution.measures.isEmpty)
        #expect(resolution.responsibleUnit != nil)
        #expect(resolution.reply?.hasPrefix(greeting) == true)
        let script = Routing.normalizer.script(of: text)
        if script == .traditional { #expect(resolution.reply?.contains("問題") == true) }
        if script == .simplified { #expect(resolution.reply?.contains("问题") == true) }
    }

    @Test("government arrears, litigation, repeated demands and large amounts need the task force", arguments: [
        ("区政府拖欠我们的工程款两年了", 0),
        ("我们已经向法院起诉对方违约", 0),
        ("退税的事我们已经反映过很多次了", 0),
        ("退税没到账", 2),
        ("Our VAT refund of RMB 5,000,000 is missing", 0),
    ])
    func escalations(text: String, repeats: Int) {
        let resolution = Advisor.advisor.advise(Advisor.facts(text, .tax, source: "corrected", repeats: repeats))
        #expect(resolution.outcome == .escalate, "\(resolution.summary)")
        #expect(resolution.summary.hasPrefix("needs the task force"))
    }

    @Test("a case an operator clearly misrouted is rerouted to where it belongs")
    func reroute() {
        let resolution = Advisor.advisor.advise(Advisor.facts("我们外籍工程师的工作许可证续签一直办不下来", .tax, source: "manual"))
        #expect(resolution.outcome == .reroute)
        #expect(resolution.rerouteTo == .foreign)
        // A routing a person corrected is trusted.
        #expect(Advisor.advisor.advise(Advisor.facts("我们外籍工程师的工作许可证续签一直办不下来", .tax, source: "corrected")).outcome != .reroute)
    }

    @Test("amounts are read in Chinese and English notation")
    func amounts() {
        #expect(AmountParser.largestYuan(in: "欠款120万元") == 1_200_000)
        #expect(AmountParser.largestYuan(in: "共计3.5亿") == 350_000_000)
        #expect(AmountParser.largestYuan(in: "rmb 2,000,000 and ¥300") == 2_000_000)
        #expect(AmountParser.largestYuan(in: "5 million yuan") == 5_000_000)
        #expect(AmountParser.largestYuan(in: "第3号厂房") == nil)
    }

    @Test("a handler's resolution is parsed, and each missing or wrong field is named")
    func parseResolution() throws {
        let good = try Resolution.parse("log line\n{\"outcome\": \"reroute\", \"summary\": \"s\", \"reroute_to\": \"legal\", \"measures\": [1, 9]}")
        #expect(good.outcome == .reroute && good.rerouteTo == .legal && good.measures == [1, 9])
        let cases: [(String, String)] = [
            ("", "printed nothing"),
            ("not json", "not a JSON object"),
            ("{\"summary\": \"s\"}", "\"outcome\""),
            ("{\"outcome\": \"maybe\", \"summary\": \"s\"}", "\"outcome\""),
            ("{\"outcome\": \"resolved\"}", "\"summary\""),
            ("{\"outcome\": \"resolved\", \"summary\": \"s\", \"measures\": [99]}", "\"measures\""),
            ("{\"outcome\": \"reroute\", \"summary\": \"s\"}", "\"reroute_to\""),
            ("{\"outcome\": \"reroute\", \"summary\": \"s\", \"reroute_to\": \"police\"}", "unknown task force"),
        ]
        for (output, expected) in cases {
            do {
                _ = try Resolution.parse(output)
                Issue.record("\(output) should be refused")
            } catch {
                #expect("\(error)".contains(expected), "\(output) → \(error)")
            }
        }
    }

    @Test("the catalogue holds the policy's 15 measures, each with terms in both languages")
    func catalogue() throws {
        let catalogue = try MeasuresCatalogue.bundled()
        #expect(catalogue.measures.map(\.number) == Array(1...15))
        #expect(catalogue.measures.allSatisfy { !$0.terms.zh.isEmpty && !$0.terms.en.isEmpty })
        #expect(catalogue.matches(inNormalizedText: "政府拖欠我们的账款").first?.measure.number == 10)
    }
}
