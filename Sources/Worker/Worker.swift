import ArgumentParser
import Foundation

@main
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Department worker: claims and resolves its task forces' cases.")

    func run() async throws {
        print("worker")
    }
}
