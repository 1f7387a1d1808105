import Foundation
import CaseLedger
import PostgresClient
import TaskForces
import Testing

private func readAll(_ path: String) throws -> [ImportRow] { try readAllRows(path, batch: 100) }

private func reason(_ row: ImportRow) -> String? {
    if case .failure(let error) = row.result { return error.message }
    return nil
}

@Suite("Import files: the hard cases")
struct ImportFileHardCases {
    @Test("CRLF CSV: a quoted last field keeps no \\r, so urgent, received_at, task_force and external_id read as written")
    func crlfQuotedLastField() throws {
        let path = try temporaryFile(
            "text,external_id,task_force,received_at,urgent\r\n"
            + "退税没到账,\"t-1\",\"tax\",\"2026-03-02T09:30:00+08:00\",\"yes\"\r\n"
            + "停电了,t-2,infrastructure,2026-03-02T10:00:00+08:00,no\r\n",
            extension: "csv")
        let rows = try readAll(path)
        let good = rows.compactMap { try? $0.result.get() }
        #expect(rows.compactMap(reason) == [])
        #expect(good.map(\.externalID) == ["t-1", "t-2"])
        #expect(good.map(\.taskForce) == [.tax, .infrastructure])
        #expect(good.map(\.urgent) == [true, false])
        #expect(good.first?.receivedAt == Date(timeIntervalSince1970: 1_772_415_000))
        #expect(rows.map(\.raw) == ["退税没到账,\"t-1\",\"tax\",\"2026-03-02T09:30:00+08:00\",\"yes\"", "停电了,t-2,infrastructure,2026-03-02T10:00:00+08:00,no"])
    }

    @Test("a stray quote costs its own row, not the rest of the file")
    func strayQuoteCostsOneRow() throws {
        var lines = ["text,enterprise"]
        for n in 1...10 { lines.append(n == 3 ? "\"融资难 贷款被拒,企业\(n)" : "融资难第\(n)号,企业\(n)") }
        let path = try temporaryFile(lines.joined(separator: "\n") + "\n", extension: "csv")
        let rows = try readAll(path)
        #expect(rows.map(\.line) == Array(2...11))
        #expect(rows.compactMap { try? $0.result.get().text } == (1...10).filter { $0 != 3 }.map { "融资难第\($0)号" })
        let rejected = rows.filter { reason($0) != nil }
        #expect(rejected.map(\.line) == [4])
        #expect(reason(rejected[0])?.contains("stray") == true)
        #expect(rejected[0].raw == "\"融资难 贷款被拒,企业3")
    }

    @Test("a stray quote that meets another one later costs one row too; a real multi-line field still reads")
    func strayQuoteClosedLater() throws {
        let path = try temporaryFile(
            "text,enterprise\n"
            + "\"he said \"\"no\"\"\nand left\",甲\n"   // a genuine two-line field
            + "\"broken,乙\n"                           // a stray quote…
            + "fine one,丙\n"
            + "closes\" here,丁\n"                      // …that this quote would close
            + "last,戊\n",
            extension: "csv")
        let rows = try readAll(path)
        let good = rows.compactMap { try? $0.result.get() }
        #expect(good.map(\.text) == ["he said \"no\"\nand left", "fine one", "closes\" here", "last"])
        #expect(rows.filter { reason($0) != nil }.map(\.line) == [4])
    }

    @Test("a line over the limit is rejected, its head kept, the lines around it imported — in linear time")
    func longLines() throws {
        let long = String(repeating: "长", count: ImportReader.maximumRecordBytes) // 3 bytes each: 3 MiB
        for ext in ["jsonl", "csv"] {
            let content = ext == "jsonl"
                ? "{\"text\": \"before\"}\n{\"text\": \"\(long)\"}\n{\"text\": \"after\"}\n"
                : "text\nbefore\n\(long)\nafter\n"
            let path = try temporaryFile(content, extension: ext)
            let rows = try readAll(path)
            #expect(rows.compactMap { try? $0.result.get().text } == ["before", "after"], "\(ext)")
            let rejected = try #require(rows.first { reason($0) != nil })
            #expect(reason(rejected)?.contains("longer than the limit") == true)
            #expect(rejected.raw.utf8.count <= ImportReader.maximumRecordBytes)
            #expect(rejected.line == (ext == "jsonl" ? 2 : 3))
        }
    }

    @Test("a 64 MiB file of one line is read in bounded memory and rejected once")
    func hugeSingleLine() throws {
        let path = NSTemporaryDirectory() + "huge-\(UUID().uuidString).jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        handle.write(Data("{\"text\": \"".utf8))
        for _ in 0..<64 { handle.write(chunk) }
        handle.write(Data("\"}\n{\"text\": \"next\"}\n".utf8))
        try handle.close()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let rows = try readAll(path)
        #expect(rows.count == 2)
        #expect(reason(rows[0])?.contains("longer than the limit") == true)
        #expect(try rows[1].result.get().text == "next")
    }

    @Test("NUL characters and lengths PostgreSQL counts in code points are refused per row, before the database sees them")
    func databaseInvalidFieldsAreRefusedPerRow() throws {
        // 300 characters of "e" + combining acute accent: 300 graphemes, 600 code points.
        let combining = String(repeating: "e\u{301}", count: 300)
        let text = try JSONSerialization.data(withJSONObject: ["text": "退税没到账", "enterprise": combining])
        let lines = [
            "{\"text\": \"退税没到账\", \"enterprise\": \"甲\\u0000公司\"}",
            "{\"text\": \"退税没到账\", \"contact\": \"138\\u0000\"}",
            "{\"text\": \"退税没到账\", \"external_id\": \"x\\u0000y\"}",
            String(decoding: text, as: UTF8.self),
            "{\"text\": \"退税没到账\", \"enterprise\": \"乙公司\"}",
        ]
        let intake = Shared.intake
        let path = try temporaryFile(lines.joined(separator: "\n") + "\n", extension: "jsonl")
        var errors: [String] = []
        for row in try readAll(path) {
            do { _ = try intake.prepare(try row.result.get()) } catch { errors.append("line \(row.line): \(error)") }
        }
        #expect(errors.count == 4)
        #expect(errors[0].contains("enterprise contains a NUL"))
        #expect(errors[1].contains("contact contains a NUL"))
        #expect(errors[2].contains("external_id contains a NUL"))
        #expect(errors[3].contains("enterprise is longer than 500"))
    }

    @Test("the content key ignores spacing and full-width forms, and changes with enterprise, text or received time")
    func contentKeySource() {
        func key(_ text: String, _ enterprise: String? = "甲公司", _ received: Date? = nil) -> String {
            CaseIntake.contentKeySource(of: CaseInput(text: text, enterprise: enterprise, channel: .import, receivedAt: received))
        }
        #expect(key("退税 没到账") == key("  退税\t没到账 \n"))
        #expect(key("ＡＢＣ退税") == key("ABC退税"))
        #expect(key("退税没到账") != key("退税没到账", "乙公司"))
        #expect(key("退税没到账") != key("退税没到帐"))
        #expect(key("退税没到账", "甲公司", Date(timeIntervalSince1970: 1)) != key("退税没到账"))
    }
}

@Suite("Bulk import: idempotent by content, one bad row never sinks a batch")
struct ImportIdempotencyTests {
    @Test("a file without external ids imported twice creates its cases once")
    func reimportWithoutExternalIDs() async throws {
        let fixture = try await LedgerFixture.make("reimport_content")
        defer { Task { await fixture.close() } }
        let lines = (0..<300).map { n in "{\"text\": \"增值税留抵退税第\(n)号申请还没有到账\", \"enterprise\": \"企业\(n % 7)\"}" }
            + ["{\"text\": \"停电三天了\"}", "{\"text\": \"Work permit for our engineer\", \"received_at\": \"2026-03-02T09:30:00+08:00\"}"]
        let path = try temporaryFile(lines.joined(separator: "\n") + "\n", extension: "jsonl")
        let importer = CaseImporter(intake: Shared.intake, batchSize: 64)
        let first = try await importer.run(path: path, on: fixture.connection)
        #expect(first.rejected == 0)
        let cases = try await fixture.count("SELECT count(*) FROM cases")
        let jobs = try await fixture.count("SELECT count(*) FROM queue_jobs")
        #expect(cases == 302)
        #expect(try await fixture.count("SELECT count(*) FROM cases WHERE content_key IS NULL") == 0)
        let second = try await importer.run(path: path, on: fixture.connection)
        #expect(second.created == 0 && second.merged == 0)
        #expect(second.alreadyImported == 302)
        #expect(try await fixture.count("SELECT count(*) FROM cases") == cases)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == jobs)
        #expect(try await fixture.count("SELECT count(*) FROM case_events WHERE type = 'received'") == cases)
    }

    @Test("a batch stored again after a COMMIT whose answer was lost finds its cases instead of storing them twice")
    func retryAfterUncertainCommit() async throws {
        let fixture = try await LedgerFixture.make("uncertain_commit")
        defer { Task { await fixture.close() } }
        let inputs = (0..<50).map { n -> CaseInput in
            var input = CaseInput(text: "融资担保第\(n)号贷款到期续贷困难", enterprise: "企业\(n)", channel: .import)
            input.keyedByContent = true
            return input
        }
        let prepared = try inputs.map { try Shared.intake.prepare($0) }
        // The first attempt committed; the importer never heard back and tries again.
        let first = try await fixture.connection.transaction { try await Shared.intake.store(prepared, on: $0) }
        let again = try await fixture.connection.transaction { try await Shared.intake.store(prepared, on: $0) }
        #expect(first.allSatisfy { $0.disposition == .created })
        #expect(again.allSatisfy { $0.disposition == .duplicateExternalID })
        #expect(again.map(\.caseID) == first.map(\.caseID))
        #expect(try await fixture.count("SELECT count(*) FROM cases") == 50)
        #expect(try await fixture.count("SELECT count(*) FROM queue_jobs") == 50)
    }

    @Test("a row the database refuses is rejected alone; the rest of its batch is stored")
    func databaseRefusalCostsOneRow() async throws {
        let fixture = try await LedgerFixture.make("refused_row")
        defer { Task { await fixture.close() } }
        // A check the intake does not know about, standing for any value the database
        // refuses that validation missed.
        try await fixture.connection.executeScript("ALTER TABLE cases ADD CONSTRAINT no_forbidden CHECK (enterprise IS DISTINCT FROM 'forbidden')")
        let lines = (0..<20).map { n in "{\"text\": \"退税第\(n)号没到账\", \"enterprise\": \"\(n == 7 ? "forbidden" : "企业\(n)")\"}" }
        let path = try temporaryFile(lines.joined(separator: "\n") + "\n", extension: "jsonl")
        var rejected: [String] = []
        let summary = try await CaseImporter(intake: Shared.intake, batchSize: 500).run(path: path, on: fixture.connection, onReject: { rejected.append($0) })
        #expect(summary.created == 19)
        #expect(summary.rejected == 1)
        #expect(rejected.count == 1 && rejected[0].hasPrefix("line 8:") && rejected[0].contains("no_forbidden"))
        #expect(try await fixture.count("SELECT count(*) FROM cases") == 19)
        let rejects = try String(contentsOfFile: CaseImporter.rejectsPath(for: path), encoding: .utf8)
        #expect(rejects.contains("forbidden"))
    }
}
