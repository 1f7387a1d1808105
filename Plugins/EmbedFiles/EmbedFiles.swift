import Foundation
import PackagePlugin

/// Embeds data files of the package into a target as Swift string literals, so the
/// binaries carry them and run from any directory or container:
/// - `Schema`: every `migrations/*.sql`;
/// - `TaskForces`: the routing model `data/routing/model.json` and the measures
///   catalogue and escalation terms of `data/policy/`.
/// The generated file declares `embeddedFiles: [(name: String, content: String)]`.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL
        var inputs: [URL] = []
        switch target.name {
        case "Schema":
            let directory = root.appending(path: "migrations")
            inputs = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".sql") }
                .sorted()
                .map { directory.appending(path: $0) }
        case "TaskForces":
            inputs = ["data/routing/model.json", "data/policy/measures.json", "data/policy/escalation-terms.json"]
                .map { root.appending(path: $0) }
                .filter { FileManager.default.fileExists(atPath: $0.path) }
        default:
            return []
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) files into \(target.name)",
                executable: try context.tool(named: "FileEmbedder").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
