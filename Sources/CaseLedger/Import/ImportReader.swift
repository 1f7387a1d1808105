import Foundation
import TaskForces

/// One row of an import file: its line number, its raw text (kept for the rejects
/// file), and either a case to take in or the reason it cannot be.
public struct ImportRow: Sendable {
    public let line: Int
    public let raw: String
    public let result: Result<CaseInput, ImportError>
}

/// Why a row was rejected.
public struct ImportError: Error, Sendable, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Streams `.jsonl` and `.csv` files in batches, never holding the whole file.
///
/// Only `text` is required. Other fields: `enterprise`, `contact`, `channel` (default
/// `import`), `external_id`, `kind`, `task_force`, `urgent` (true/false/1/0/yes/no),
/// `received_at` (ISO 8601). Unknown fields are ignored.
public final class ImportReader {
    public enum Format: String, Sendable { case jsonl, csv }

    public let path: String
    public let format: Format
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var atEOF = false
    private var line = 0
    private var csvHeader: [String]?
    /// Bytes read so far (for progress).
    public private(set) var bytesRead = 0
    public let totalBytes: Int

    /// Opens a file; the format comes from its extension (`.jsonl`, `.ndjson`, `.json` or `.csv`).
    /// - Throws: ``ImportError`` when the file is missing, unreadable, or of another type.
    public init(path: String) throws {
        self.path = path
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") {
            format = .csv
        } else if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") {
            format = .jsonl
        } else {
            throw ImportError("\(path): unknown file type; use a .jsonl or .csv file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImportError("\(path): no such file, or it cannot be read")
        }
        self.handle = handle
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        totalBytes = (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    deinit { try? handle.close() }

    /// The next rows, at most `limit`; empty at the end of the file.
    public func nextBatch(limit: Int) throws -> [ImportRow] {
        var rows: [ImportRow] = []
        while rows.count < limit, let record = try nextRecord() {
            if let row = parse(record) { rows.append(row) }
        }
        return rows
    }

    // MARK: Records

    private struct Record {
        let line: Int
        let bytes: [UInt8]
        /// CSV fields (already unquoted); nil for JSONL.
        let fields: [[UInt8]]?
    }

    private func fill() throws -> Bool {
        if atEOF { return false }
        let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
        if chunk.isEmpty { atEOF = true; return false }
        buffer.append(contentsOf: chunk)
        bytesRead += chunk.count
        return true
    }

    private func nextRecord() throws -> Record? {
        // Drop consumed bytes between records (never inside one: indexes stay valid).
        if bufferStart > 1 << 20 {
            buffer.removeFirst(bufferStart)
            bufferStart = 0
        }
        switch format {
        case .jsonl: return try nextLine()
        case .csv: return try nextCSVRecord()
        }
    }

    private func nextLine() throws -> Record? {
        while true {
            if let newline = buffer[bufferStart...].firstIndex(of: UInt8(ascii: "\n")) {
                var bytes = Array(buffer[bufferStart..<newline])
                bufferStart = newline + 1
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                line += 1
                return Record(line: line, bytes: bytes, fields: nil)
            }
            if try !fill() {
                guard bufferStart < buffer.count else { return nil }
                var bytes = Array(buffer[bufferStart...])
                bufferStart = buffer.count
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                line += 1
                return Record(line: line, bytes: bytes, fields: nil)
            }
        }
    }

    /// RFC 4180: fields separated by commas, optionally quoted; `""` inside quotes is a
    /// quote; quoted fields may span lines. A record is reported at its first line.
    private func nextCSVRecord() throws -> Record? {
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var raw: [UInt8] = []
        var inQuotes = false
        var fieldStarted = false
        var wasQuoted = false
        let startLine = line + 1
        var index = bufferStart
        func finishField() {
            fields.append(field)
            field = []
            fieldStarted = false
            wasQuoted = false
        }
        while true {
            if index >= buffer.count {
                let consumed = index - bufferStart
                if try !fill() {
                    bufferStart = buffer.count
                    if raw.isEmpty && fields.isEmpty && field.isEmpty { return nil }
                    if inQuotes {
                        line += raw.filter { $0 == UInt8(ascii: "\n") }.count + 1
                        return Record(line: startLine, bytes: raw, fields: nil) // unterminated quote
                    }
                    finishField()
                    line += 1
                    return Record(line: startLine, bytes: raw, fields: fields)
                }
                index = bufferStart + consumed
                continue
            }
            let byte = buffer[index]
            index += 1
            if byte == UInt8(ascii: "\n"), !inQuotes {
                bufferStart = index
                line += raw.filter { $0 == UInt8(ascii: "\n") }.count + 1
                if raw.last == UInt8(ascii: "\r") { raw.removeLast(); if !wasQuoted, field.last == UInt8(ascii: "\r") { field.removeLast() } }
                finishField()
                if fields.count == 1, fields[0].isEmpty, raw.isEmpty {
                    // blank line: skip it
                    fields = []
                    raw = []
                    continue
                }
                return Record(line: startLine, bytes: raw, fields: fields)
            }
            raw.append(byte)
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if try index < buffer.count || fill() {
                        if buffer[index] == UInt8(ascii: "\"") {
                            field.append(byte)
                            raw.append(byte)
                            index += 1
                            continue
                        }
                    }
                    inQuotes = false
                } else {
                    field.append(byte)
                }
            } else if byte == UInt8(ascii: ",") {
                finishField()
            } else if byte == UInt8(ascii: "\""), !fieldStarted {
                inQuotes = true
                fieldStarted = true
                wasQuoted = true
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
        func reject(_ reason: String) -> ImportRow { ImportRow(line: record.line, raw: raw, result: .failure(ImportError("line \(record.line): \(reason)"))) }
        guard String(validating: bytes, as: UTF8.self) != nil else { return reject("not valid UTF-8; save the file as UTF-8") }
        switch format {
        case .jsonl:
            if raw.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
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
                    return ImportRow(line: record.line, raw: raw, result: .failure(ImportError(
                        "line \(record.line): the header has no \"text\" column (found: \(names.joined(separator: ", "))); the first line must name the columns")))
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
            return ImportRow(line: line, raw: raw, result: .failure(ImportError("line \(line): \(error)")))
        }
    }

    /// Builds a case input from named fields.
    static func caseInput(_ fields: [String: String]) throws -> CaseInput {
        guard let text = fields["text"] else { throw ImportError("field \"text\" is missing; it is required") }
        if let problem = Self.problem(in: text) { throw ImportError("field \"text\": \(problem)") }
        var input = CaseInput(text: text, channel: .import)
        input.enterprise = fields["enterprise"]?.trimmingCharacters(in: .whitespaces)
        input.contact = fields["contact"]
        input.externalID = fields["external_id"]?.trimmingCharacters(in: .whitespaces)
        input.kind = fields["kind"]?.trimmingCharacters(in: .whitespaces)
        if let channel = fields["channel"] {
            do { input.channel = try CaseChannel(parsing: channel) } catch { throw ImportError("field \"channel\": \(error)") }
        }
        if let taskForce = fields["task_force"] {
            do { input.taskForce = try TaskForce(parsing: taskForce) } catch { throw ImportError("field \"task_force\": \(error)") }
        }
        if let urgent = fields["urgent"]?.lowercased() {
            switch urgent {
            case "true", "1", "yes", "y", "是": input.urgent = true
            case "false", "0", "no", "n", "否": input.urgent = false
            default: throw ImportError("field \"urgent\": \"\(urgent)\" is not true/false")
            }
        }
        if let received = fields["received_at"] {
            guard let date = ISO8601DateFormatter().date(from: received) ?? ISO8601DateFormatter.withFraction.date(from: received) else {
                throw ImportError("field \"received_at\": \"\(received)\" is not an ISO 8601 time like 2026-03-02T09:30:00+08:00")
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
