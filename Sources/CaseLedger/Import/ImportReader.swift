import Foundation
import TaskForces

/// One row of an import file: its line number, its raw text (kept for the rejects
/// file), and either a case to take in or the reason it cannot be.
package struct ImportRow: Sendable {
    package let line: Int
    package let raw: String
    package let result: Result<CaseInput, CaseError>
}

/// Streams `.jsonl` and `.csv` files in batches, never holding the whole file.
///
/// Only `text` is required. Other fields: `enterprise`, `contact`, `channel` (default
/// `import`), `external_id`, `kind`, `task_force`, `urgent` (true/false/1/0/yes/no),
/// `received_at` (ISO 8601). Unknown fields are ignored.
package final class ImportReader {
    package enum Format: String, Sendable { case jsonl, csv }

    /// `text.trimmingCharacters(in: .whitespaces)`, without a copy when there is nothing to trim.
    package static func trimmed(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
              !CharacterSet.whitespaces.contains(first), !CharacterSet.whitespaces.contains(last) else {
            return text.trimmingCharacters(in: .whitespaces)
        }
        return text
    }

    package let path: String
    package let format: Format
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var atEOF = false
    private var line = 0
    private var csvHeader: [String]?
    /// Bytes read so far (for progress).
    package private(set) var bytesRead = 0
    package let totalBytes: Int

    /// Opens a file; the format comes from its extension (`.jsonl`, `.ndjson`, `.json` or `.csv`).
    /// - Throws: ``CaseError`` (`importFile`) when the file is missing, unreadable, or of another type.
    package init(path: String) throws {
        self.path = path
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") {
            format = .csv
        } else if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") {
            format = .jsonl
        } else {
            throw CaseError.importProblem("\(path): unknown file type; use a .jsonl or .csv file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CaseError.importProblem("\(path): no such file, or it cannot be read")
        }
        self.handle = handle
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        totalBytes = (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    deinit { try? handle.close() }

    /// The next rows, at most `limit`; empty at the end of the file.
    package func nextBatch(limit: Int) throws -> [ImportRow] {
        var rows: [ImportRow] = []
        while rows.count < limit, let record = try nextRecord() {
            if let row = parse(record) { rows.append(row) }
        }
        return rows
    }

    // MARK: Records

    /// The longest record (line, or CSV record spanning lines) read, in bytes. A longer
    /// one is rejected with its first `maximumRecordBytes` kept for the rejects file; the
    /// rest of it is skipped without being held, so reading stays linear and bounded
    /// however long a line is. Cases hold at most 20,000 characters of text (80 KB of
    /// UTF-8), so 1 MiB leaves room for every other field.
    package static let maximumRecordBytes = 1 << 20

    private struct Record {
        let line: Int
        let bytes: [UInt8]
        /// CSV fields (already unquoted); nil for JSONL.
        let fields: [[UInt8]]?
        /// Why the record cannot be read, when it cannot.
        var problem: String? = nil
        /// A blank line between records (skipped).
        var isBlank = false
    }

    private func fill() throws -> Bool {
        if atEOF { return false }
        let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
        if chunk.isEmpty { atEOF = true; return false }
        buffer.append(contentsOf: chunk)
        bytesRead += chunk.count
        return true
    }

    /// The byte at `index`, reading more of the file when needed; nil at the end.
    private func peek(_ index: Int) throws -> UInt8? {
        while index >= buffer.count {
            if try !fill() { return nil }
        }
        return buffer[index]
    }

    private func nextRecord() throws -> Record? {
        while true {
            // Drop consumed bytes between records (never inside one: indexes stay valid).
            if bufferStart > 1 << 20 {
                buffer.removeFirst(bufferStart)
                bufferStart = 0
            }
            switch format {
            case .jsonl: return try nextLine()
            case .csv:
                guard let record = try nextCSVRecord() else { return nil }
                if record.isBlank { continue }
                return record
            }
        }
    }

    /// One line. The search for its end resumes where the last one stopped after each
    /// read, so a long line costs linear time; a line over the limit is skipped to its
    /// end without being held.
    private func nextLine() throws -> Record? {
        var scanFrom = bufferStart
        while true {
            if let newline = buffer[scanFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                if newline - bufferStart > Self.maximumRecordBytes { return try tooLongLine(scannedTo: newline) }
                return finishLine(end: newline, next: newline + 1)
            }
            scanFrom = buffer.count
            if scanFrom - bufferStart > Self.maximumRecordBytes { return try tooLongLine(scannedTo: scanFrom) }
            if try !fill() {
                guard bufferStart < buffer.count else { return nil }
                return finishLine(end: buffer.count, next: buffer.count)
            }
        }
    }

    private func finishLine(end: Int, next: Int) -> Record {
        var bytes = Array(buffer[bufferStart..<end])
        bufferStart = next
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        line += 1
        return Record(line: line, bytes: bytes, fields: nil)
    }

    /// Rejects the line starting at `bufferStart`, known to be longer than the limit up
    /// to `scanned`: its first bytes are kept, the rest skipped.
    private func tooLongLine(scannedTo scanned: Int) throws -> Record {
        let kept = head(from: bufferStart)
        let length = scanned - bufferStart + (try skipToLineEnd(from: scanned))
        line += 1
        return Record(line: line, bytes: kept, fields: nil, problem: Self.tooLong(length))
    }

    /// Skips to just after the next newline at or after `index` (or to the end of the
    /// file), dropping the bytes it passes.
    /// - Returns: how many bytes it skipped, the newline excluded.
    private func skipToLineEnd(from index: Int) throws -> Int {
        var skipped = 0
        var position = index
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                bufferStart = newline + 1
                return skipped + newline - position
            }
            skipped += buffer.count - position
            buffer.removeAll(keepingCapacity: true)
            bufferStart = 0
            position = 0
            if try !fill() { return skipped }
        }
    }

    /// The first `maximumRecordBytes` of a record from `start`, cut at a character boundary.
    private func head(from start: Int) -> [UInt8] {
        var kept = Array(buffer[start..<(start + Self.maximumRecordBytes)])
        while let last = kept.last, last & 0xC0 == 0x80 { kept.removeLast() }
        if let last = kept.last, last >= 0xC0 { kept.removeLast() }
        return kept
    }

    static func tooLong(_ bytes: Int) -> String {
        "longer than the limit of \(maximumRecordBytes) bytes (\(bytes) bytes); split it or shorten the text (its first \(maximumRecordBytes) bytes are kept in the rejects file)"
    }

    /// RFC 4180: fields separated by commas, optionally quoted; `""` inside quotes is a
    /// quote; quoted fields may span lines; CRLF or LF ends a record. A record is
    /// reported at its first line.
    ///
    /// A stray quote costs one row, not the file: a record spanning lines that is never
    /// closed, grows past the limit, has another number of fields than the header, or
    /// has text right after a closing quote (`"…" here`) is taken to be a stray quote on
    /// its first line — that line alone is rejected and reading resumes on the next one.
    /// (Within one line, text after a closing quote is kept, as most readers do.)
    private func nextCSVRecord() throws -> Record? {
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var inQuotes = false
        var fieldStarted = false
        var justClosedQuote = false
        var textAfterClosingQuote = false
        let start = bufferStart
        var firstLineEnd: Int?
        var newlines = 0
        var index = bufferStart
        func finishField() {
            fields.append(field)
            field = []
            fieldStarted = false
        }
        /// The first physical line alone, rejected: the record's structure broke after it.
        func strayQuote(_ reason: String) -> Record {
            let end = firstLineEnd!
            var bytes = Array(buffer[start..<(end - 1)])
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            bufferStart = end
            line += 1
            return Record(line: line, bytes: bytes, fields: nil, problem: reason)
        }
        while true {
            guard let byte = try peek(index) else {
                // End of file.
                if index == start { bufferStart = index; return nil }
                if inQuotes {
                    if firstLineEnd != nil {
                        return strayQuote("a quote opened on this line is never closed (a stray \"?); only this line was skipped")
                    }
                    bufferStart = index
                    line += 1
                    return Record(line: line, bytes: Array(buffer[start..<index]), fields: nil,
                                  problem: "a quoted field is never closed (missing \")")
                }
                finishField()
                bufferStart = index
                line += 1
                var bytes = Array(buffer[start..<index])
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                return Record(line: line, bytes: bytes, fields: fields)
            }
            if index - start >= Self.maximumRecordBytes {
                if firstLineEnd != nil, inQuotes {
                    return strayQuote("a quote opened on this line runs past \(Self.maximumRecordBytes) bytes (a stray \"?); only this line was skipped")
                }
                // Still on the record's first line (a newline outside quotes ends a record).
                let kept = head(from: start)
                let length = index - start + (try skipToLineEnd(from: index))
                line += 1
                return Record(line: line, bytes: kept, fields: nil, problem: Self.tooLong(length))
            }
            index += 1
            if justClosedQuote {
                justClosedQuote = false
                if byte != UInt8(ascii: ","), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") { textAfterClosingQuote = true }
            }
            if byte == UInt8(ascii: "\n") {
                if firstLineEnd == nil { firstLineEnd = index }
                if inQuotes {
                    newlines += 1
                    field.append(byte)
                    continue
                }
                // End of record: the raw bytes without the line ending.
                var end = index - 1
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                finishField()
                if fields.count == 1, fields[0].isEmpty, end == start {
                    bufferStart = index
                    line += 1
                    return Record(line: line, bytes: [], fields: [], isBlank: true)
                }
                if newlines > 0, textAfterClosingQuote {
                    return strayQuote("text follows a closing quote after a quote opened on this line swallowed the next lines (a stray \"?); only this line was skipped")
                }
                if newlines > 0, let header = csvHeader, fields.count != header.count {
                    return strayQuote("\(fields.count) fields where the header has \(header.count) once a quote opened on this line swallowed the next lines (a stray \"?); only this line was skipped")
                }
                bufferStart = index
                line += newlines + 1
                return Record(line: line - newlines, bytes: Array(buffer[start..<end]), fields: fields)
            }
            if inQuotes {
                if byte == UInt8(ascii: "\""), try peek(index) == UInt8(ascii: "\"") {
                    field.append(byte)
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inQuotes = false
                    justClosedQuote = true
                } else {
                    field.append(byte)
                }
            } else if byte == UInt8(ascii: ",") {
                finishField()
            } else if byte == UInt8(ascii: "\""), !fieldStarted {
                inQuotes = true
                fieldStarted = true
            } else if byte == UInt8(ascii: "\r"), try [UInt8(ascii: "\n"), nil].contains(peek(index)) {
                continue // CRLF (or a last line ending in CR): the \r belongs to the line ending, never to a field
            } else {
                field.append(byte)
                fieldStarted = true
            }
        }
    }

    // MARK: Rows

    private func parse(_ record: Record) -> ImportRow? {
        var bytes = record.bytes
        if record.line == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let raw = String(decoding: bytes, as: UTF8.self)
        func reject(_ reason: String) -> ImportRow { ImportRow(line: record.line, raw: raw, result: .failure(CaseError.importProblem("line \(record.line): \(reason)", line: record.line))) }
        if let problem = record.problem { return reject(problem) }
        guard String(validating: bytes, as: UTF8.self) != nil else { return reject("not valid UTF-8; save the file as UTF-8") }
        switch format {
        case .jsonl:
            // As `raw.trimmingCharacters(in: .whitespaces).isEmpty`, without copying the line.
            if raw.unicodeScalars.allSatisfy({ CharacterSet.whitespaces.contains($0) }) { return nil }
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
                return reject("not valid JSON; each line must be one object like {\"text\": \"…\"}")
            }
            guard let dictionary = object as? [String: Any] else { return reject("a JSON value where an object {…} was expected") }
            var fields: [String: String] = [:]
            for (key, value) in dictionary {
                switch value {
                case let text as String: fields[key] = text
                case let number as NSNumber:
                    fields[key] = number.stringValue
                case is NSNull: continue
                default:
                    if ["text", "enterprise", "contact", "channel", "external_id", "kind", "task_force", "urgent", "received_at"].contains(key) {
                        return reject("field \"\(key)\" must be a string")
                    }
                }
            }
            return row(record.line, raw, fields)
        case .csv:
            guard var values = record.fields else { return reject("a quoted field is never closed (missing \")") }
            var texts = values.map { String(decoding: $0, as: UTF8.self) }
            guard let header = csvHeader else {
                if texts.first?.hasPrefix("\u{FEFF}") == true { texts[0].removeFirst() }
                let names = texts.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                csvHeader = names
                if !names.contains("text") {
                    return ImportRow(line: record.line, raw: raw, result: .failure(CaseError.importProblem(
                        "line \(record.line): the header has no \"text\" column (found: \(names.joined(separator: ", "))); the first line must name the columns", line: record.line)))
                }
                return nil
            }
            values = []
            guard texts.count == header.count else {
                return reject("\(texts.count) fields where the header has \(header.count); quote fields that contain commas")
            }
            var fields: [String: String] = [:]
            for (name, value) in zip(header, texts) where !value.isEmpty { fields[name] = value }
            return row(record.line, raw, fields)
        }
    }

    private func row(_ line: Int, _ raw: String, _ fields: [String: String]) -> ImportRow {
        do {
            return ImportRow(line: line, raw: raw, result: .success(try Self.caseInput(fields)))
        } catch {
            return ImportRow(line: line, raw: raw, result: .failure(CaseError.importProblem("line \(line): \(error)", line: line, field: (error as? CaseError)?.field)))
        }
    }

    /// Builds a case input from named fields.
    static func caseInput(_ fields: [String: String]) throws -> CaseInput {
        guard let text = fields["text"] else { throw CaseError.importProblem("field \"text\" is missing; it is required", field: "text") }
        if let problem = Self.problem(in: text) { throw CaseError.importProblem("field \"text\": \(problem)", field: "text") }
        var input = CaseInput(text: text, channel: .import)
        input.keyedByContent = true
        input.enterprise = fields["enterprise"].map(Self.trimmed)
        input.contact = fields["contact"]
        input.externalID = fields["external_id"].map(Self.trimmed)
        input.kind = fields["kind"].map(Self.trimmed)
        if let channel = fields["channel"] {
            do { input.channel = try CaseChannel(parsing: channel) } catch { throw CaseError.importProblem("field \"channel\": \(error)", field: "channel") }
        }
        if let taskForce = fields["task_force"] {
            do { input.taskForce = try TaskForce(parsing: taskForce) } catch { throw CaseError.importProblem("field \"task_force\": \(error)", field: "task_force") }
        }
        if let urgent = fields["urgent"]?.lowercased() {
            switch urgent {
            case "true", "1", "yes", "y", "是": input.urgent = true
            case "false", "0", "no", "n", "否": input.urgent = false
            default: throw CaseError.importProblem("field \"urgent\": \"\(urgent)\" is not true/false", field: "urgent")
            }
        }
        if let received = fields["received_at"] {
            guard let date = ISO8601DateFormatter().date(from: received) ?? ISO8601DateFormatter.withFraction.date(from: received) else {
                throw CaseError.importProblem("field \"received_at\": \"\(received)\" is not an ISO 8601 time like 2026-03-02T09:30:00+08:00", field: "received_at")
            }
            input.receivedAt = date
        }
        return input
    }

    static func problem(in text: String) -> String? {
        do { try RoutingClassifier.validate(text) } catch { return "\(error)" }
        return nil
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFraction: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
