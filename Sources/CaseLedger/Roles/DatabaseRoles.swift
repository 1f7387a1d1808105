import Foundation
import PostgresClient
import TaskForces

/// The database's group roles and the logins people and programs use (docs/operations.md).
/// Every process logs in as its own login, a member of one group; row-level security
/// and grants (migrations 0007–0009) do the rest.
package enum DatabaseRoles {
    /// The group roles by the name operators use, each NOLOGIN.
    package static let groups: [String: String] = {
        var groups = [
            "dashboard": "taskforce_dashboard", "dispatcher": "taskforce_dispatcher", "maintainer": "taskforce_maintainer",
            "leader": "taskforce_leader",
        ]
        for taskForce in TaskForce.departments {
            groups["worker-\(taskForce.rawValue)"] = "taskforce_worker_\(taskForce.rawValue)"
            groups["officer-\(taskForce.rawValue)"] = "taskforce_officer_\(taskForce.rawValue)"
        }
        return groups
    }()

    package static func exists(_ role: String, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query(RoleQueries.roleExists, role).count == 1
    }

    /// Creates the group role when it is missing. - Returns: whether it existed.
    package static func ensureGroup(_ role: String, on connection: PostgresConnection) async throws -> Bool {
        let existed = try await exists(role, on: connection)
        if !existed { try await connection.executeScript("CREATE ROLE \(try await connection.escapeIdentifier(role)) NOLOGIN") }
        return existed
    }

    /// What ``login(_:group:password:on:)`` did.
    package struct LoginResult: Sendable {
        package let existed: Bool
        /// How many session settings (timeouts) the login got from its group.
        package let settingsApplied: Int
    }

    /// Creates or updates login `name`, sets its password (hashed here, client-side, so
    /// the server's log never sees it), makes it a member of `group`, and applies the
    /// group's session settings.
    package static func login(_ name: String, group: String, password: String?,
                              on connection: PostgresConnection) async throws -> LoginResult {
        let login = try await connection.escapeIdentifier(name)
        let existed = try await exists(name, on: connection)
        try await connection.executeScript(existed ? "ALTER ROLE \(login) LOGIN" : "CREATE ROLE \(login) LOGIN")
        if let password {
            let verifier = try await connection.encryptPassword(password, user: name)
            try await connection.executeScript("ALTER ROLE \(login) PASSWORD \(try await connection.escapeLiteral(verifier))")
        }
        try await connection.executeScript("GRANT \(try await connection.escapeIdentifier(group)) TO \(login)")
        let settings = try await connection.query(RoleQueries.applyLoginSettings, name).first?.decode("applied", as: Int.self) ?? 0
        return LoginResult(existed: existed, settingsApplied: settings)
    }
}
