import ArgumentParser
import Foundation
import PostgresClient
import Schema

@main
struct Dispatcher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatcher",
        abstract: "Operators' CLI: intake, routing into the seven task forces, queue control.",
        subcommands: [Migrate.self]
    )
}

/// Options shared by every command that talks to PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "libpq URI or conninfo. Defaults to $DATABASE_URL, then libpq's PG* variables.",
        valueName: "URL"))
    var databaseURL: String?

    func configuration(applicationName: String) -> PostgresConfiguration {
        if let databaseURL { return PostgresConfiguration(connectionString: databaseURL, applicationName: applicationName) }
        return .fromEnvironment(applicationName: applicationName)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the migrations this binary carries (safe to run concurrently).")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "List applied and pending migrations instead of applying.")
    var status = false

    func run() async throws {
        let runner = try Schema.runner()
        let connection = try await PostgresConnection.connect(database.configuration(applicationName: "dispatcher-migrate"))
        defer { Task { await connection.close() } }
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
