import Foundation
import CaseLedger
import PostgresClient
import PostgresTestSupport
import TaskForces

/// Shared, expensive pieces: one normaliser and intake for all tests.
enum Shared {
    static let normalizer = try! TextNormalizer()
    static let policy = try! TimeLimitPolicy.bundledDefault()
    static let calendar = try! WorkCalendar.bundledDefault()
    static let intake = CaseIntake(
        classifier: RoutingClassifier(model: try! RoutingModel.bundled(), normalizer: normalizer),
        policy: policy, calendar: calendar)
    static let lifecycle = CaseLifecycle(policy: policy, calendar: calendar)
}

struct LedgerFixture {
    let connection: PostgresConnection

    static func make(_ label: String) async throws -> LedgerFixture {
        LedgerFixture(connection: try await PostgresConnection.connect(try await TestDatabase.create(label)))
    }

    func submit(_ inputs: [CaseInput]) async throws -> [IntakeOutcome] {
        let prepared = try inputs.map { try Shared.intake.prepare($0) }
        return try await connection.transaction { try await Shared.intake.store(prepared, on: $0) }
    }

    func count(_ sql: String, _ parameters: any PostgresEncodable...) async throws -> Int {
        try await connection.query(sql, parameters: parameters).first!.decode(0, as: Int.self)
    }

    func close() async { await connection.close() }
}

/// Writes `content` to a fresh temporary file with the given extension.
func temporaryFile(_ content: String, extension ext: String) throws -> String {
    let path = NSTemporaryDirectory() + "import-\(UUID().uuidString).\(ext)"
    try content.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Every row of an import file, read in batches of `batch`.
func readAllRows(_ path: String, batch: Int) throws -> [ImportRow] {
    let reader = try ImportReader(path: path)
    var rows: [ImportRow] = []
    while true {
        let next = try reader.nextBatch(limit: batch)
        if next.isEmpty { return rows }
        rows += next
    }
}
