import ArgumentParser
import Foundation
import CaseLedger
import PostgresClient

struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roles",
        abstract: "Set up the database roles and map logins to them (docs/operations.md).",
        subcommands: [Create.self, Login.self])

    static var groups: [String: String] { DatabaseRoles.groups }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the group roles exist, creating missing ones (the migrations create them and their grants and policies).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await database.withConnection("dispatcher-roles") { connection in
                for (name, role) in RolesCommand.groups.sorted(by: { $0.key < $1.key }) {
                    let exists = try await DatabaseRoles.ensureGroup(role, on: connection)
                    print("\(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(role) \(exists ? "exists" : "created (run dispatcher migrate for its grants)")")
                }
            }
        }
    }

    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or update a login and grant it a group role.")
        @Argument(help: "The login's name.") var name: String
        @Option(help: "The group it joins: \(RolesCommand.groups.keys.sorted().joined(separator: ", ")).") var role: String
        @Option(name: .customLong("password-env"), help: "Read the password from this environment variable (never from the command line).")
        var passwordEnv: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard let group = RolesCommand.groups[role] else {
                throw ValidationError("unknown role \(role); use one of: \(RolesCommand.groups.keys.sorted().joined(separator: ", "))")
            }
            try await database.withConnection("dispatcher-roles") { connection in
                var password: String?
                if let passwordEnv {
                    guard let value = ProcessInfo.processInfo.environment[passwordEnv], !value.isEmpty else {
                        throw ValidationError("environment variable \(passwordEnv) is empty or unset")
                    }
                    password = value
                }
                let result = try await DatabaseRoles.login(name, group: group, password: password, on: connection)
                let (exists, settings) = (result.existed, result.settingsApplied)
                print("login \(name) \(exists ? "updated" : "created"), member of \(group)\(passwordEnv == nil ? "" : " (password set, hashed client-side)"), \(settings) session settings applied")
            }
        }
    }
}
