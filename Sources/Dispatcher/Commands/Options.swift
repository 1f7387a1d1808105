import ArgumentParser
import Foundation
import PostgresClient
import TaskForces

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

    func connect(_ applicationName: String) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration(applicationName: applicationName))
    }

    /// Runs `body` on a fresh connection and closes it before returning, also on error.
    /// (A close left to a detached task may still be running libpq on the connection's
    /// thread while the process exits, which crashed it.)
    func withConnection<T>(_ applicationName: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await connect(applicationName)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }
}

/// Options that choose the routing model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A model file from `dispatcher train --output`; default: the model this binary carries ($ROUTING_MODEL overrides).", valueName: "FILE"))
    var model: String?

    @Option(help: "Confidence below which a case goes to triage (default: the model's, 0.5).")
    var threshold: Double?

    func classifier(normalizer: TextNormalizer) throws -> RoutingClassifier {
        let routingModel = try PolicyFiles.loadModel(path: model)
        if let threshold, !(0...1).contains(threshold) {
            throw ValidationError("--threshold must be between 0 and 1")
        }
        return RoutingClassifier(model: routingModel, threshold: threshold, normalizer: normalizer)
    }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
