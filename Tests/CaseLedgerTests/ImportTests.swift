import Foundation
import CaseLedger
import TaskForces
import Testing

@Suite("Import files")
struct ImportReaderTests {
    func readAll(_ path: String) throws -> [ImportRow] { try readAllRows(path, batch: 2) }

    @Test("JSONL: good rows parse; bad rows name their line and reason; nothing is dropped silently")
    func jsonlRows() throws {
        let path = try temporaryFile("""
            {"text": "退税没到账", "enterprise": "甲公司", "external_id": "a1", "urgent": true}
            {"text": ""}
            not json at all
            [1, 2]

            {"text": "Power cut", "channel": "fax"}
            {"text": "Loan extension please", "task_force": "financing", "received_at": "2026-03-02T09:30:00+08:00"}
            {"enterprise": "no text"}
            """, extension: "jsonl")
        let rows = try readAll(path)
        #expect(rows.map(\.line) == [1, 2, 3, 4, 6, 7, 8])
        let good = rows.compactMap { try? $0.result.get() }
        #expect(good.map(\.text) == ["退税没到账", "Loan extension please"])
        #expect(good[0].urgent && good[0].externalID == "a1" && good[0].channel == .import)
        #expect(good[1].taskForce == .financing)
        #expect(good[1].receivedAt == Date(timeIntervalSince1970: 1_772_415_000))
        let errors = rows.compactMap { row -> String? in if case .failure(let error) = row.result { return error.message } else { return nil } }
        #expect(errors.count == 5)
        #expect(errors[0].hasPrefix("line 2:") && errors[0].contains("empty"))
        #expect(errors[1].hasPrefix("line 3:") && errors[1].contains("JSON"))
        #expect(errors[3].hasPrefix("line 6:") && errors[3].contains("channel"))
        #expect(errors[4].hasPrefix("line 8:") && errors[4].contains("text"))
    }

    @Test("CSV: quoted commas, quotes and newlines inside fields; wrong field counts are rejected")
    func csvRows() throws {
        let path = try temporaryFile(
            "text,enterprise,external_id\r\n"
            + "\"Refund, please\",Acme,c1\r\n"
            + "\"He said \"\"pay us\"\"\nnow\",\"Beta, Ltd\",c2\n"
            + "too,many,fields,here\n"
            + "稅費減免沒有落實,丙公司,c3\n",
            extension: "csv")
        let rows = try readAll(path)
        let good = rows.compactMap { try? $0.result.get() }
        #expect(good.map(\.text) == ["Refund, please", "He said \"pay us\"\nnow", "稅費減免沒有落實"])
        #expect(good.map(\.enterprise) == ["Acme", "Beta, Ltd", "丙公司"])
        #expect(rows.map(\.line) == [2, 3, 5, 6])
        if case .failure(let error) = rows[2].result { #expect(error.message.contains("line 5")) } else { Issue.record("expected a rejected row") }
    }

    @Test("invalid UTF-8 is rejected for its line only")
    func invalidUTF8() throws {
        var data = Data("{\"text\": \"ok one\"}\n".utf8)
        data.append(contentsOf: [0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])
        data.append(Data("{\"text\": \"ok two\"}\n".utf8))
        let path = NSTemporaryDirectory() + "utf8-\(UUID().uuidString).jsonl"
        try data.write(to: URL(fileURLWithPath: path))
        let rows = try readAll(path)
        #expect(rows.compactMap { try? $0.result.get().text } == ["ok one", "ok two"])
        if case .failure(let error) = rows[1].result { #expect(error.message.contains("UTF-8")) } else { Issue.record("expected a rejected row") }
    }

    @Test("a CSV without a text column, an unknown extension and a missing file are clear errors")
    func fileErrors() throws {
        let path = try temporaryFile("name,phone\nA,1\n", extension: "csv")
        let rows = try readAll(path)
        if case .failure(let error) = rows.first?.result { #expect(error.message.contains("\"text\"")) } else { Issue.record("expected a header error") }
        #expect(throws: CaseError.self) { try ImportReader(path: "/nonexistent/file.jsonl") }
        #expect(throws: CaseError.self) { try ImportReader(path: "/tmp/file.xlsx") }
    }
}

@Suite("Bulk import into the ledger")
struct BulkImportTests {
    @Test("good rows are all imported, bad ones go to the rejects file with line and reason, and a re-import creates nothing")
    func importWithRejectsAndReimport() async throws {
        let fixture = try await LedgerFixture.make("bulk_import")
        defer { Task { await fixture.close() } }
        var lines = (0..<1_200).map { n in "{\"external_id\": \"row-\(n)\", \"text\": \"增值税留抵退税第\(n)号申请还没有到账\", \"enterprise\": \"企业\(n)\"}" }
        lines.insert("{\"external_id\": \"bad-1\", \"text\": \"   \"}", at: 10)
        lines.insert("{broken", at: 500)
        lines.insert("{\"text\": \"Power cut\", \"channel\": \"fax\"}", at: 900)
        let path = try temporaryFile(lines.joined(separator: "\n") + "\n", extension: "jsonl")
        let importer = CaseImporter(intake: Shared.intake, batchSize: 250)
        var rejected: [String] = []
        let summary = try await importer.run(path: path, on: fixture.connection, onReject: { rejected.append($0) })
        #expect(summary.rows == 1_203)
        #expect(summary.created == 1_200)
        #expect(summary.rejected == 3)
        #expect(rejected.map { $0.prefix(9) } == ["line 11: ", "line 501:", "line 901:"])
        let rejects = try String(contentsOfFile: CaseImporter.rejectsPath(for: path), encoding: .utf8).split(separator: "\n")
        #expect(rejects.count == 3)
        #expect(rejects[1].contains("\"raw\":\"{broken\""))
        #expect(try await fixture.count("SELECT count(*) FROM cases") == 1_200)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 1_200)
        #expect(try await fixture.count("SELECT count(*) FROM case_events WHERE type = 'enqueued'") == 1_200)

        let again = try await importer.run(path: path, on: fixture.connection)
        #expect(again.created == 0)
        #expect(again.alreadyImported == 1_200)
        #expect(try await fixture.count("SELECT count(*) FROM cases") == 1_200)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 1_200)
    }

    @Test("a missing file is a clear error, not an empty import")
    func missingFile() async throws {
        let fixture = try await LedgerFixture.make("missing_file")
        defer { Task { await fixture.close() } }
        await #expect(throws: CaseError.self) {
            _ = try await CaseImporter(intake: Shared.intake).run(path: "/nonexistent/cases.jsonl", on: fixture.connection)
        }
    }
}
