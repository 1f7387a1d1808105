import Foundation
import PostgresClient
import PostgresTestSupport
import Testing

@Suite("LISTEN / NOTIFY")
struct NotificationTests {
    @Test("a waiting listener receives a notification sent by another session")
    func receivesNotification() async throws {
        let listener = try await PostgresConnection.connect(TestDatabase.server)
        let sender = try await PostgresConnection.connect(TestDatabase.server)
        defer { Task { await listener.close(); await sender.close() } }
        let channel = "test_channel_\(UInt32.random(in: 0...UInt32.max))"
        try await listener.listen(channel)
        let waiting = Task { try await listener.nextNotification(timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        try await sender.notify(channel, payload: "稅 hello")
        let notification = try await waiting.value
        #expect(notification?.channel == channel)
        #expect(notification?.payload == "稅 hello")
        #expect(notification?.senderPID == (await sender.backendPID))
    }

    @Test("a cancelled wait returns promptly with nothing")
    func cancelledWaitReturnsPromptly() async throws {
        let listener = try await PostgresConnection.connect(TestDatabase.server)
        defer { Task { await listener.close() } }
        try await listener.listen("never_notified")
        let started = ContinuousClock.now
        let waiting = Task { try await listener.nextNotification(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        let result = try await waiting.value
        #expect(result == nil)
        #expect(ContinuousClock.now - started < .seconds(10))
        // The connection still works afterwards.
        #expect(try await listener.query("SELECT 1").first?.decode(0, as: Int.self) == 1)
    }

    @Test("a wait with a timeout returns nil when nothing arrives")
    func timeoutReturnsNil() async throws {
        let listener = try await PostgresConnection.connect(TestDatabase.server)
        defer { Task { await listener.close() } }
        try await listener.listen("quiet_channel")
        #expect(try await listener.nextNotification(timeout: .milliseconds(100)) == nil)
    }

    @Test("a listener whose backend was terminated listens again after reconnecting")
    func listensAgainAfterReconnect() async throws {
        let listener = try await PostgresConnection.connect(TestDatabase.server)
        let other = try await PostgresConnection.connect(TestDatabase.server)
        defer { Task { await listener.close(); await other.close() } }
        try await listener.listen("resilient")
        let pid = await listener.backendPID
        try await other.query("SELECT pg_terminate_backend($1)", pid)
        // The wait notices the lost session, reconnects and re-subscribes.
        _ = try await listener.nextNotification(timeout: .milliseconds(300))
        #expect(await listener.backendPID != pid)
        let waiting = Task { try await listener.nextNotification(timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        try await other.notify("resilient", payload: "again")
        #expect(try await waiting.value?.payload == "again")
    }
}
