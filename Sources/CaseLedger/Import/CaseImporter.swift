import Dispatch
import Foundation
import PostgresClient
import Synchronization
import TaskForces

/// Counts of one import.
package struct ImportSummary: Sendable, Equatable {
    package var rows = 0
    package var created = 0
    package var merged = 0
    package var alreadyImported = 0
    package var rejected = 0
    package var perTaskForce: [TaskForce: Int] = [:]

    package init() {}

    mutating func count(_ outcome: IntakeOutcome) {
        switch outcome.disposition {
        case .created:
            created += 1
            perTaskForce[outcome.taskForce, default: 0] += 1
        case .merged: merged += 1
        case .duplicateExternalID: alreadyImported += 1
        }
    }

    /// A plain-text summary.
    package func report(elapsed: TimeInterval) -> String {
        var lines = ["imported \(rows) rows in \(String(format: "%.1f", elapsed)) s (\(Int(Double(rows) / max(elapsed, 0.001))) rows/s): \(created) new cases, \(merged) repeated demands linked, \(alreadyImported) already imported, \(rejected) rejected"]
        lines.append("new cases per task force:")
        for taskForce in TaskForce.allCases {
            lines.append("  \(taskForce.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)) \(perTaskForce[taskForce] ?? 0)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Streams a file into the case ledger in batches, one transaction per batch.
///
/// Bad rows are written to `<file>.rejects.jsonl` — `{"line", "error", "raw"}` — and
/// reported through `onReject`; every good row is imported. External ids make a second
/// import of the same file create nothing new.
package struct CaseImporter: Sendable {
    package let intake: CaseIntake
    package let batchSize: Int

    package init(intake: CaseIntake, batchSize: Int = 500) {
        self.intake = intake
        self.batchSize = max(1, batchSize)
    }

    /// The rejects file written beside `path`.
    package static func rejectsPath(for path: String) -> String { path + ".rejects.jsonl" }

    /// Imports `path`.
    /// - Parameters:
    ///   - path: a `.jsonl` or `.csv` file.
    ///   - connection: where the cases go.
    ///   - onReject: called with each rejected row's message (line number and reason).
    ///   - onProgress: called after each batch with rows done and bytes read.
    /// - Throws: ``CaseError`` when the file itself cannot be read; database errors
    ///   after five retries of a batch.
    package func run(
        path: String, on connection: PostgresConnection,
        onReject: (String) -> Void = { _ in }, onProgress: (_ rows: Int, _ bytesRead: Int, _ totalBytes: Int) -> Void = { _, _, _ in }
    ) async throws -> ImportSummary {
        let reader = try ImportReader(path: path)
        let rejectsPath = Self.rejectsPath(for: path)
        try? FileManager.default.removeItem(atPath: rejectsPath)
        var rejects: FileHandle?
        defer { try? rejects?.close() }
        func reject(_ row: ImportRow, _ reason: String) throws {
            onReject(reason)
            if rejects == nil {
                guard FileManager.default.createFile(atPath: rejectsPath, contents: nil),
                      let handle = FileHandle(forWritingAtPath: rejectsPath) else {
                    throw CaseError.importProblem("cannot write the rejects file \(rejectsPath)")
                }
                rejects = handle
            }
            let object: [String: Any] = ["line": row.line, "error": reason, "raw": row.raw]
            rejects?.write(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8))
        }
        var summary = ImportSummary()
        let preparer = try ParallelPreparer(intake: intake)
        // While one batch is stored, the next is read and prepared on the other cores.
        // A read error surfaces after the batches before it are stored, as it did when
        // reading and storing took turns.
        var next: Task<(rows: [ImportRow], results: [Result<PreparedCase, any Error>?]), Never>? = nil
        var readError: (any Error)? = nil
        func startPreparing() {
            do {
                let rows = try reader.nextBatch(limit: batchSize)
                next = rows.isEmpty ? nil : Task { (rows, await preparer.prepare(rows)) }
            } catch {
                next = nil
                readError = error
            }
        }
        startPreparing()
        if let readError { throw readError }
        while let batch = next {
            let (rows, results) = await batch.value
            startPreparing()
            var prepared: [PreparedCase] = []
            var goodRows: [ImportRow] = []
            for (row, result) in zip(rows, results) {
                switch row.result {
                case .success:
                    switch result {
                    case .success(let one)?:
                        prepared.append(one)
                        goodRows.append(row)
                    case .failure(let error)?:
                        try reject(row, "line \(row.line): \(error)")
                        summary.rejected += 1
                    case nil:
                        preconditionFailure("a good row was not prepared")
                    }
                case .failure(let error):
                    try reject(row, error.message)
                    summary.rejected += 1
                }
            }
            for outcome in try await store(prepared, rows: goodRows, on: connection, reject: reject) {
                if let outcome { summary.count(outcome) } else { summary.rejected += 1 }
            }
            summary.rows += rows.count
            onProgress(summary.rows, reader.bytesRead, reader.totalBytes)
            if let readError { throw readError }
        }
        return summary
    }

    /// One transaction per batch. A transient failure (a restart, a lost connection, an
    /// uncertain COMMIT) retries the whole batch, which cannot store anything twice:
    /// nothing of a failed transaction remains, and every imported row carries a key
    /// (its external id or its content key), so rows a lost-but-committed attempt stored
    /// are found, not stored again. A row the database refuses (a check or a value it
    /// cannot hold, which validation should have caught) does not sink its batch: the
    /// batch is stored again row by row, and only the refused rows are rejected.
    /// - Returns: each row's outcome, nil for a row rejected by the database.
    private func store(
        _ prepared: [PreparedCase], rows: [ImportRow], on connection: PostgresConnection,
        reject: (ImportRow, String) throws -> Void
    ) async throws -> [IntakeOutcome?] {
        do {
            return try await storeRetrying(prepared, on: connection)
        } catch let error as PostgresError where error.isDataError {
            var outcomes: [IntakeOutcome?] = []
            for (one, row) in zip(prepared, rows) {
                do {
                    outcomes.append(try await storeRetrying([one], on: connection).first)
                } catch let error as PostgresError where error.isDataError {
                    try reject(row, "line \(row.line): the database refused the row: \(error.message)")
                    outcomes.append(nil)
                }
            }
            return outcomes
        }
    }

    private func storeRetrying(_ prepared: [PreparedCase], on connection: PostgresConnection) async throws -> [IntakeOutcome] {
        var attempt = 0
        while true {
            do {
                return try await connection.transaction { try await intake.store(prepared, on: $0) }
            } catch let error as PostgresError where error.isTransient && attempt < 5 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }
}

/// Prepares a batch's rows (validate, normalise, classify, deadline, event JSON) on all
/// cores: on threads of its own through `DispatchQueue.concurrentPerform`, never on Swift's
/// cooperative pool, with one ``TextNormalizer`` per thread (OpenCC converters are not
/// shared). The results are in row order and the same as preparing the rows one by one.
final class ParallelPreparer: Sendable {
    let intake: CaseIntake
    let normalizers: [TextNormalizer]
    private let queue = DispatchQueue(label: "case-import.prepare")

    init(intake: CaseIntake, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.intake = intake
        normalizers = try (0..<max(1, min(threads, 16))).map { _ in try TextNormalizer() }
    }

    /// Each row's prepared case or error; nil for a row the reader rejected.
    func prepare(_ rows: [ImportRow]) async -> [Result<PreparedCase, any Error>?] {
        let inputs: [CaseInput?] = rows.map { if case .success(let input) = $0.result { input } else { nil } }
        return await withCheckedContinuation { continuation in
            queue.async { [intake, normalizers] in
                let results = Mutex([Result<PreparedCase, any Error>?](repeating: nil, count: inputs.count))
                let threads = min(normalizers.count, max(1, inputs.count / 16))
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    let normalizer = normalizers[thread]
                    var mine: [(Int, Result<PreparedCase, any Error>)] = []
                    for index in stride(from: thread, to: inputs.count, by: threads) {
                        guard let input = inputs[index] else { continue }
                        mine.append((index, Result { try intake.prepare(input, normalizer: normalizer) }))
                    }
                    results.withLock { results in for (index, result) in mine { results[index] = result } }
                }
                continuation.resume(returning: results.withLock { $0 })
            }
        }
    }
}
