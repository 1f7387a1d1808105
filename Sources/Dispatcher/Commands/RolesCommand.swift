import ArgumentParser
import Foundation
import PostgresClient

struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roles",
        abstract: "Set up the database roles and map logins to them (docs/operations.md).",
        subcommands: [Create.self, Login.self])

    /// The group roles, each NOLOGIN: people and programs log in as their own users
    /// and are granted one of these.
    static let groups: [String: String] = {
        var groups = [
            "dashboard": "taskforce_dashboard", "dispatcher": "taskforce_dispatcher", "maintainer": "taskforce_maintainer",
        ]
        for taskForce in ["tax", "credit", "legal", "infrastructure", "financing", "innovation", "foreign"] {
            groups["worker-\(taskForce)"] = "taskforce_worker_\(taskForce)"
        }
        return groups
    }()

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the group roles exist, creating missing ones (the migrations create them and their grants and policies).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await database.withConnection("dispatcher-roles") { connection in
                for (name, role) in RolesCommand.groups.sorted(by: { $0.key < $1.key }) {
                    let exists = try await connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", role).count == 1
                    if !exists { try await connection.executeScript("CREATE ROLE \(try await connection.escapeIdentifier(role)) NOLOGIN") }
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
                let login = try await connection.escapeIdentifier(name)
                let exists = try await connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", name).count == 1
                try await connection.executeScript(exists ? "ALTER ROLE \(login) LOGIN" : "CREATE ROLE \(login) LOGIN")
                if let passwordEnv {
                    guard let password = ProcessInfo.processInfo.environment[passwordEnv], !password.isEmpty else {
                        throw ValidationError("environment variable \(passwordEnv) is empty or unset")
                    }
                    let verifier = try await connection.encryptPassword(password, user: name)
                    try await connection.executeScript("ALTER ROLE \(login) PASSWORD \(try await connection.escapeLiteral(verifier))")
                }
                try await connection.executeScript("GRANT \(try await connection.escapeIdentifier(group)) TO \(login)")
                // The group's statement and idle-in-transaction timeouts (public.login_settings).
                let settings = try await connection.query("SELECT public.apply_login_settings($1) AS applied", name).first?.decode("applied", as: Int.self) ?? 0
                print("login \(name) \(exists ? "updated" : "created"), member of \(group)\(passwordEnv == nil ? "" : " (password set, hashed client-side)"), \(settings) session settings applied")
            }
        }
    }
}
