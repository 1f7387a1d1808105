import Foundation
import PostgresClient
import PostgresTestSupport
import Testing

@Suite("Values round-trip through PostgreSQL")
struct TypeRoundTripTests {
    struct Payload: Codable, Equatable, Sendable {
        var name: String
        var amounts: [Int]
    }

    @Test("every supported type survives a round trip, including NULL and Chinese text")
    func roundTrip() async throws {
        let connection = try await PostgresConnection.connect(TestDatabase.server)
        defer { Task { await connection.close() } }
        let now = Date(timeIntervalSince1970: 1_764_405_697.123456)
        let id = UUID()
        let payload = Payload(name: "沈阳出台15条政策 — 稅費", amounts: [1, 9])
        let nothing: String? = nil
        let row = try #require(try await connection.query(
            """
            SELECT $1::int AS small, $2::bigint AS big, $3::float8 AS ratio, $4::bool AS flag,
                   $5::text AS words, $6::timestamptz AS at, $7::uuid AS id, $8::jsonb AS doc,
                   $9::bigint[] AS ids, $10::text[] AS names, $11::text AS missing,
                   $12::bool[] AS flags, $13::float8[] AS ratios, $14::timestamptz[] AS times,
                   $15::uuid[] AS uuids, $16::text[] AS holey
            """,
            42, Int64.max, 0.1 + 0.2, true, "企业復工 \"quoted\" \\ back\nline", now, id,
            PostgresJSON(payload), [Int64(1), -2, 3], ["a b", "c,d", "e\"f", "g\\h", "NULL", "", "稅"],
            nothing, [true, false], [1.5, -0.25], [now, now.addingTimeInterval(60)], [id],
            [Optional("x"), nil, "y"]
        ).first)
        #expect(try row.decode("small", as: Int.self) == 42)
        #expect(try row.decode("big", as: Int64.self) == Int64.max)
        #expect(try row.decode("ratio", as: Double.self) == 0.1 + 0.2)
        #expect(try row.decode("flag", as: Bool.self) == true)
        #expect(try row.decode("words", as: String.self) == "企业復工 \"quoted\" \\ back\nline")
        let at = try row.decode("at", as: Date.self)
        #expect(abs(at.timeIntervalSince(now)) < 0.000_001)
        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(try row.decode("doc", as: PostgresJSON<Payload>.self).value == payload)
        #expect(try row.decode("ids", as: [Int64].self) == [1, -2, 3])
        #expect(try row.decode("names", as: [String].self) == ["a b", "c,d", "e\"f", "g\\h", "NULL", "", "稅"])
        #expect(try row.decode("missing", as: String?.self) == nil)
        #expect(try row.isNull("missing"))
        #expect(throws: PostgresError.self) { try row.decode("missing", as: String.self) }
        #expect(try row.decode("flags", as: [Bool].self) == [true, false])
        #expect(try row.decode("ratios", as: [Double].self) == [1.5, -0.25])
        #expect(try row.decode("times", as: [Date].self).count == 2)
        #expect(try row.decode("uuids", as: [UUID].self) == [id])
        #expect(try row.decode("holey", as: [String?].self) == ["x", nil, "y"])
    }

    @Test("a NUL byte in a text parameter is refused before it reaches the server")
    func nulByteRefused() async throws {
        let connection = try await PostgresConnection.connect(TestDatabase.server)
        defer { Task { await connection.close() } }
        let error = await #expect(throws: PostgresError.self) {
            try await connection.query("SELECT $1::text", "a\u{0}b")
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("$1") == true)
        // The connection is still usable.
        #expect(try await connection.query("SELECT 1").first?.decode(0, as: Int.self) == 1)
    }

    @Test("timestamps parse in every shape PostgreSQL prints")
    func timestampShapes() throws {
        let base = Date(timeIntervalSince1970: 1_764_405_697)
        #expect(try Date(postgresText: "2025-11-29 08:41:37+00") == base)
        #expect(try Date(postgresText: "2025-11-29 16:41:37+08") == base)
        #expect(try Date(postgresText: "2025-11-29 03:11:37-05:30") == base)
        #expect(try Date(postgresText: "2025-11-29T08:41:37.250000Z") == base.addingTimeInterval(0.25))
        #expect(throws: PostgresError.self) { try Date(postgresText: "yesterday") }
        #expect(try Date(postgresText: base.postgresText!) == base)
    }

    @Test("array literals parse quoting, escapes, NULL and empty arrays")
    func arrayLiterals() throws {
        #expect(try [String](postgresText: "{}") == [])
        #expect(try [Int](postgresText: "{1,2,3}") == [1, 2, 3])
        #expect(try [String](postgresText: #"{"a,b","c\"d",e}"#) == ["a,b", "c\"d", "e"])
        #expect(throws: PostgresError.self) { try [Int](postgresText: "{1,NULL}") }
        #expect(throws: PostgresError.self) { try [Int](postgresText: "1,2") }
    }
}
