import ArgumentParser
import CaseLedger
import Foundation
import PostgresClient
import TaskForces

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Take in a .jsonl or .csv file of problems, in batches.",
        discussion: """
            Only `text` is required; optional fields: enterprise, contact, channel,
            external_id, kind, task_force, urgent, received_at. Bad rows are reported with
            their line number and reason and written to FILE.rejects.jsonl; every good row
            is imported. Importing the same file again creates no duplicates (external ids).
            Exits 1 when any row was rejected, 2 when the file itself cannot be read.
            """)

    @Argument(help: "The file to import (.jsonl or .csv).") var file: String
    @Option(help: "Rows per transaction.") var batch = 500
    @Option(help: "Recorded as who took the cases in.") var actor: String?
    @Flag(help: "Print plain progress lines even on a terminal.") var plain = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var policy: PolicyOptions

    func run() async throws {
        let reader: ImportReader
        do { reader = try ImportReader(path: file) } catch {
            printError("import: \(error)")
            throw ExitCode(2)
        }
        guard (1...5_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 5000") }
        let context = try IntakeContext(model: model, policy: policy, actor: operatorName(actor).replacingOccurrences(of: "operator", with: "import"))
        let connection = try await database.connect("dispatcher-import")
        defer { Task { await connection.close() } }
        let rejectsPath = file + ".rejects.jsonl"
        var rejects: FileHandle?
        let progress = ImportProgress(terminal: !plain && isatty(STDERR_FILENO) == 1, total: reader.totalBytes)
        var summary = ImportSummary()
        let started = Date()
        while true {
            let rows = try reader.nextBatch(limit: batch)
            if rows.isEmpty { break }
            var prepared: [PreparedCase] = []
            for row in rows {
                switch row.result {
                case .success(let input):
                    do {
                        prepared.append(try context.intake.prepare(input))
                    } catch {
                        try writeReject(row, "line \(row.line): \(error)", to: &rejects, path: rejectsPath)
                        summary.rejected += 1
                    }
                case .failure(let error):
                    try writeReject(row, error.reason, to: &rejects, path: rejectsPath)
                    summary.rejected += 1
                }
            }
            let outcomes = try await storeWithRetry(prepared, context: context, connection: connection)
            for outcome in outcomes { summary.count(outcome) }
            summary.rows += rows.count
            progress.update(rows: summary.rows, bytes: reader.bytesRead, elapsed: Date().timeIntervalSince(started))
        }
        progress.finish(rows: summary.rows, elapsed: Date().timeIntervalSince(started))
        try? rejects?.close()
        print(summary.report(elapsed: Date().timeIntervalSince(started)))
        if summary.rejected > 0 {
            print("\(summary.rejected) rejected rows written to \(rejectsPath) (line number and reason each); fix them and import that file again")
            throw ExitCode(1)
        }
    }

    /// One transaction per batch; a lost connection is retried (the batch is idempotent
    /// through external ids, and nothing of a failed transaction remains).
    private func storeWithRetry(_ prepared: [PreparedCase], context: IntakeContext, connection: PostgresConnection) async throws -> [IntakeOutcome] {
        var attempt = 0
        while true {
            do {
                return try await connection.transaction { try await context.intake.store(prepared, on: $0) }
            } catch let error as PostgresError where error.isTransient && attempt < 5 {
                attempt += 1
                printError("import: \(error.message); retrying batch (\(attempt)/5)")
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    private func writeReject(_ row: ImportRow, _ reason: String, to handle: inout FileHandle?, path: String) throws {
        printError("rejected \(reason)")
        if handle == nil {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            guard let opened = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write the rejects file \(path)") }
            handle = opened
        }
        let object: [String: Any] = ["line": row.line, "error": reason, "raw": row.raw]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        handle?.write(data + Data("\n".utf8))
    }
}

/// Counts for the import's closing summary.
struct ImportSummary {
    var rows = 0
    var created = 0
    var merged = 0
    var alreadyImported = 0
    var rejected = 0
    var perTaskForce: [TaskForce: Int] = [:]

    mutating func count(_ outcome: IntakeOutcome) {
        switch outcome.disposition {
        case .created:
            created += 1
            perTaskForce[outcome.taskForce, default: 0] += 1
        case .merged: merged += 1
        case .duplicateExternalID: alreadyImported += 1
        }
    }

    func report(elapsed: TimeInterval) -> String {
        var lines = ["imported \(rows) rows in \(String(format: "%.1f", elapsed)) s (\(Int(Double(rows) / max(elapsed, 0.001))) rows/s): \(created) new cases, \(merged) repeated demands linked, \(alreadyImported) already imported, \(rejected) rejected"]
        lines.append("new cases per task force:")
        for taskForce in TaskForce.allCases {
            lines.append("  \(taskForce.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)) \(perTaskForce[taskForce] ?? 0)")
        }
        return lines.joined(separator: "\n")
    }
}

/// A progress bar with rows/s on a terminal, plain lines otherwise.
final class ImportProgress {
    let terminal: Bool
    let total: Int
    private var lastPlain = Date.distantPast

    init(terminal: Bool, total: Int) {
        self.terminal = terminal
        self.total = total
    }

    func update(rows: Int, bytes: Int, elapsed: TimeInterval) {
        let rate = Int(Double(rows) / max(elapsed, 0.001))
        if terminal {
            let fraction = total > 0 ? min(1, Double(bytes) / Double(total)) : 0
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write(Data("\r\(bar) \(Int(fraction * 100))%  \(rows) rows  \(rate) rows/s ".utf8))
        } else if Date().timeIntervalSince(lastPlain) >= 2 {
            lastPlain = Date()
            FileHandle.standardError.write(Data("import: \(rows) rows, \(rate) rows/s\n".utf8))
        }
    }

    func finish(rows: Int, elapsed: TimeInterval) {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
