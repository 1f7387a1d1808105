import Foundation
import PackagePlugin

/// Embeds data files of the package into a target at build time, so the binaries carry
/// them and run from any directory or container:
/// - `Schema`: every `migrations/*.sql`, as `embeddedFiles`;
/// - `TaskForces`: the routing model `data/routing/model.json` and the policy files of
///   `data/policy/` (time limits, working calendar, measures, escalation terms), as
///   `embeddedFiles`;
/// - any target with a `SQL/` folder (QueueCore, CaseLedger, CaseWorker, Dashboard): each
///   `SQL/<Name>.sql` becomes `enum <Name>` with one `static let` per `-- name:` block, and
///   the target gets `<Target>SQL.statements`, the catalogue its tests check.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL
        var files: [URL] = []
        switch target.name {
        case "Schema":
            let directory = root.appending(path: "migrations")
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".sql") }
                .sorted()
                .map { directory.appending(path: $0) }
        case "TaskForces":
            files = [
                "data/routing/model.json", "data/policy/time-limits.json", "data/policy/calendar.json",
                "data/policy/measures.json", "data/policy/escalation-terms.json",
            ]
            .map { root.appending(path: $0) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        default:
            break
        }
        let sqlDirectory = target.directoryURL.appending(path: "SQL")
        let statementFiles = ((try? FileManager.default.contentsOfDirectory(atPath: sqlDirectory.path)) ?? [])
            .filter { $0.hasSuffix(".sql") }
            .sorted()
            .map { sqlDirectory.appending(path: $0) }
        if files.isEmpty && statementFiles.isEmpty { return [] }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        var arguments = [output.path, "--target", target.name]
        if !files.isEmpty { arguments += ["--files"] + files.map(\.path) }
        if !statementFiles.isEmpty { arguments += ["--statements"] + statementFiles.map(\.path) }
        return [
            .buildCommand(
                displayName: "Embedding \(files.count + statementFiles.count) files into \(target.name)",
                executable: try context.tool(named: "FileEmbedder").url,
                arguments: arguments,
                inputFiles: files + statementFiles,
                outputFiles: [output]
            ),
        ]
    }
}
