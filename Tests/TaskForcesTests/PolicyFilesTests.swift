import Foundation
import TaskForces
import Testing

@Suite("Policy files shared by the dispatcher and the worker")
struct PolicyFilesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("an operator's calendar named by CALENDAR_FILE is used instead of the built-in one, and an option wins over it")
    func environmentAndOptions() throws {
        let original = try String(contentsOf: Self.repository.appending(path: "data/policy/calendar.json"), encoding: .utf8)
        // The operator adds a city holiday on a Wednesday.
        let edited = original.replacingOccurrences(of: "\"holidays\": [", with: "\"holidays\": [\"2026-06-17\", ")
        #expect(edited != original)
        let path = NSTemporaryDirectory() + "calendar-\(UUID().uuidString).json"
        try edited.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let wednesday = try #require(ISO8601DateFormatter().date(from: "2026-06-17T04:00:00Z"))
        let (_, builtIn) = try PolicyFiles.load(environment: [:])
        let (_, fromEnvironment) = try PolicyFiles.load(environment: ["CALENDAR_FILE": path])
        #expect(builtIn.isWorkingDay(wednesday))
        #expect(!fromEnvironment.isWorkingDay(wednesday))
        let (_, fromOption) = try PolicyFiles.load(calendar: path, environment: ["CALENDAR_FILE": "/nonexistent.json"])
        #expect(!fromOption.isWorkingDay(wednesday))
    }

    @Test("a missing operator file is an error that names it")
    func missingFile() {
        let error = #expect(throws: (any Error).self) { try PolicyFiles.load(environment: ["TIME_LIMITS_FILE": "/etc/taskforce/nowhere.json"]) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("nowhere.json"))
    }

    @Test("a calendar that does not reach the coming weeks is reported loudly, never a silent working day")
    func coverage() throws {
        let (_, calendar) = try PolicyFiles.load(environment: [:])
        let years = calendar.coveredYears
        let last = try #require(years.last)
        let inside = try #require(ISO8601DateFormatter().date(from: "\(last)-03-01T00:00:00Z"))
        let nearEnd = try #require(ISO8601DateFormatter().date(from: "\(last)-12-02T00:00:00Z"))
        #expect(PolicyFiles.coverageWarning(calendar, now: inside) == nil)
        let warning = try #require(PolicyFiles.coverageWarning(calendar, now: nearEnd))
        #expect(warning.contains("\(last)"))
        #expect(warning.contains("CALENDAR_FILE"))
    }

    @Test("a working-clock deadline that runs into a year without holiday data says so in its rule")
    func deadlineThroughAnUncoveredYear() throws {
        let (policy, calendar) = try PolicyFiles.load(environment: [:])
        let last = try #require(calendar.coveredYears.last)
        let inside = try #require(ISO8601DateFormatter().date(from: "\(last)-06-01T02:00:00Z"))
        let lastWeek = try #require(ISO8601DateFormatter().date(from: "\(last)-12-30T02:00:00Z"))
        // The tax task force has 40 working hours: from 30 December they end in the next year.
        let covered = try policy.deadline(taskForce: "tax", kind: nil, urgent: false,
                                          escalationLevel: 0, receivedAt: inside, calendar: calendar)
        #expect(covered.uncoveredYears.isEmpty)
        #expect(!covered.rule.contains("WARNING"))
        let crossing = try policy.deadline(taskForce: "tax", kind: nil, urgent: false,
                                           escalationLevel: 0, receivedAt: lastWeek, calendar: calendar)
        #expect(crossing.uncoveredYears == [last + 1])
        #expect(crossing.rule.contains("WARNING: calendar has no holidays for \(last + 1)"))
        #expect(crossing.rule.count <= 200, "the ledger and case_redispatch() keep rules of up to 200 characters")
    }

    @Test("the routing model comes from --model, else ROUTING_MODEL, else the binary; a bad file names itself")
    func modelFile() throws {
        let bundled = try PolicyFiles.loadModel(environment: [:])
        let path = NSTemporaryDirectory() + "model-\(UUID().uuidString).json"
        let encoded = try JSONEncoder().encode(bundled)
        try encoded.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try PolicyFiles.loadModel(environment: [PolicyFiles.modelVariable: path]).classes == bundled.classes)
        #expect(try PolicyFiles.loadModel(path: path, environment: [PolicyFiles.modelVariable: "/nowhere/model.json"]).classes == bundled.classes)
        let broken = NSTemporaryDirectory() + "broken-model-\(UUID().uuidString).json"
        try "{\"classes\": []}".write(toFile: broken, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: broken) }
        #expect { try PolicyFiles.loadModel(environment: [PolicyFiles.modelVariable: broken]) } throws: { error in
            (error as? TaskForcesError)?.message.contains(broken) == true
        }
        #expect { try PolicyFiles.loadModel(path: "/nowhere/model.json") } throws: { error in
            "\(error)".contains("/nowhere/model.json")
        }
    }
}
