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
            is imported. Importing the same file again creates no duplicates: rows are keyed
            by external_id, or without one by their content (enterprise, text, received_at).
            Exit status: 0 every row imported (or already there); 2 the file was read to
            the end but some rows were rejected (see FILE.rejects.jsonl); 1 the import could
            not run or stopped midway (file unreadable, database unreachable): the batches
            before the failure are stored, and running the same command again is safe.
            """)

    @Argument(help: "The file to import (.jsonl or .csv).") var file: String
    @Option(help: "Rows per transaction.") var batch = 500
    @Option(help: "Recorded as who took the cases in.") var actor: String?
    @Flag(help: "Print plain progress lines even on a terminal.") var plain = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var policy: PolicyOptions

    func run() async throws {
        guard (1...5_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 5000") }
        guard FileManager.default.isReadableFile(atPath: file) else {
            printError("import: \(file): no such file, or it cannot be read")
            throw ExitCode(1)
        }
        let context = try IntakeContext(model: model, policy: policy, actor: operatorName(actor).replacingOccurrences(of: "operator", with: "import"))
        try await database.withConnection("dispatcher-import") { connection in
            let progress = ImportProgress(terminal: !plain && isatty(STDERR_FILENO) == 1)
            let started = Date()
            let summary: ImportSummary
            do {
                summary = try await CaseImporter(intake: context.intake, batchSize: batch).run(
                    path: file, on: connection,
                    onReject: { printError("rejected \($0)") },
                    onProgress: { rows, bytes, total in progress.update(rows: rows, bytes: bytes, total: total, elapsed: Date().timeIntervalSince(started)) })
            } catch let error as CaseError where error.code == .importFile {
                progress.finish()
                printError("import: \(error)")
                throw ExitCode(1)
            } catch {
                progress.finish()
                printError("import: stopped: \(error). The batches before this one are stored; run the same command again to import the rest (nothing is stored twice).")
                throw ExitCode(1)
            }
            progress.finish()
            print(summary.report(elapsed: Date().timeIntervalSince(started)))
            if summary.rejected > 0 {
                print("\(summary.rejected) rejected rows written to \(CaseImporter.rejectsPath(for: file)) (line number and reason each); fix them and import that file again")
                throw ExitCode(2)
            }
        }
    }
}

/// A progress bar with rows/s on a terminal, plain lines every 2 s otherwise.
final class ImportProgress {
    let terminal: Bool
    private var lastPlain = Date.distantPast

    init(terminal: Bool) { self.terminal = terminal }

    func update(rows: Int, bytes: Int, total: Int, elapsed: TimeInterval) {
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

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
