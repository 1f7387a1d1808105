import ArgumentParser
import Foundation
import PostgresClient
import Schema

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the migrations this binary carries (safe to run concurrently).")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "List applied and pending migrations instead of applying.")
    var status = false

    func run() async throws {
        let runner = try Schema.runner()
        try await database.withConnection("dispatcher-migrate") { connection in
            if status {
                for entry in try await runner.status(on: connection) {
                    let state = entry.appliedAt.map { "applied \(PostgresTimestamp.display($0))" } ?? "pending"
                    print("\(entry.migration.name)  \(state)")
                }
                return
            }
            let applied = try await runner.apply(on: connection)
            if applied.isEmpty {
                print("schema is up to date (\(runner.migrations.count) migrations)")
            } else {
                for migration in applied { print("applied \(migration.name)") }
            }
        }
    }
}
