import Foundation

/// A Swift value that can be sent as a bound statement parameter.
///
/// Parameters travel in PostgreSQL's text format with an unspecified type, so the
/// server infers the type from the statement; add a cast (`$1::bigint[]`) where the
/// statement leaves it ambiguous.
public protocol PostgresEncodable: Sendable {
    /// The value in PostgreSQL's text format, or `nil` for SQL `NULL`.
    var postgresText: String? { get }
}

/// A Swift value that can be read from a column in PostgreSQL's text format.
public protocol PostgresDecodable: Sendable {
    /// Parses the column's text; throws ``PostgresError/Code/decoding`` when it cannot.
    init(postgresText text: String) throws
}

/// Types usable as elements of one-dimensional PostgreSQL arrays.
public protocol PostgresArrayElement: PostgresEncodable, PostgresDecodable {}

func decodingError(_ text: String, as type: Any.Type) -> PostgresError {
    let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
    return PostgresError(code: .decoding, message: "cannot decode '\(shown)' as \(type)")
}

extension String: PostgresArrayElement {
    public var postgresText: String? { self }
    public init(postgresText text: String) { self = text }
}

extension Int: PostgresArrayElement {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws {
        guard let value = Int(text) else { throw decodingError(text, as: Int.self) }
        self = value
    }
}

extension Int64: PostgresArrayElement {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws {
        guard let value = Int64(text) else { throw decodingError(text, as: Int64.self) }
        self = value
    }
}

extension Int32: PostgresArrayElement {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws {
        guard let value = Int32(text) else { throw decodingError(text, as: Int32.self) }
        self = value
    }
}

extension Double: PostgresArrayElement {
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return "\(self)"
    }
    public init(postgresText text: String) throws {
        guard let value = Double(text) else { throw decodingError(text, as: Double.self) }
        self = value
    }
}

extension Bool: PostgresArrayElement {
    public var postgresText: String? { self ? "t" : "f" }
    public init(postgresText text: String) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw decodingError(text, as: Bool.self)
        }
    }
}

extension UUID: PostgresArrayElement {
    public var postgresText: String? { uuidString.lowercased() }
    public init(postgresText text: String) throws {
        guard let value = UUID(uuidString: text) else { throw decodingError(text, as: UUID.self) }
        self = value
    }
}

extension Date: PostgresArrayElement {
    /// ISO 8601 in UTC with microseconds, e.g. `2026-11-29T09:01:37.123456Z`.
    public var postgresText: String? { PostgresTimestamp.format(self) }
    /// Accepts `timestamptz` output in the ISO date style (`2026-11-29 09:01:37.5+00`),
    /// with or without fraction and offset minutes, and `T` as the separator.
    public init(postgresText text: String) throws {
        guard let value = PostgresTimestamp.parse(text) else { throw decodingError(text, as: Date.self) }
        self = value
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText ?? nil }
}

/// A `json`/`jsonb` value: encodes a `Codable` value as JSON text, or decodes one.
public struct PostgresJSON<Value: Codable & Sendable>: PostgresEncodable, PostgresDecodable {
    public var value: Value
    public init(_ value: Value) { self.value = value }

    public var postgresText: String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    public init(postgresText text: String) throws {
        do {
            value = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw PostgresError(code: .decoding, message: "cannot decode JSON as \(Value.self): \(error)")
        }
    }
}

/// JSON text passed through unchanged (already-serialised JSON, for `$1::jsonb`).
public struct RawJSON: PostgresEncodable, PostgresDecodable, Hashable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public var postgresText: String? { text }
    public init(postgresText text: String) { self.text = text }
}

// MARK: - Arrays

extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// A one-dimensional array literal: `{"a","b",NULL}`. Every element is quoted.
    public var postgresText: String? {
        var out = "{"
        for (index, element) in enumerated() {
            if index > 0 { out += "," }
            guard let text = element.postgresText else { out += "NULL"; continue }
            out += "\""
            for character in text.unicodeScalars {
                if character == "\"" || character == "\\" { out += "\\" }
                out.unicodeScalars.append(character)
            }
            out += "\""
        }
        return out + "}"
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public init(postgresText text: String) throws {
        let items = try PostgresArrayLiteral.parse(text)
        self = try items.map { item in
            guard let item else {
                if let nullable = Element.self as? any NullableElement.Type, let null = nullable.null as? Element {
                    return null
                }
                throw PostgresError(code: .decoding, message: "NULL element in array of non-optional \(Element.self); decode as [\(Element.self)?]")
            }
            return try Element(postgresText: item)
        }
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// Used for array elements (`[Int?]`); a whole NULL column is handled by the row.
    public init(postgresText text: String) throws {
        self = .some(try Wrapped(postgresText: text))
    }
}

/// Lets `[T?]` decode NULL array elements as `nil`.
protocol NullableElement { static var null: Self { get } }
extension Optional: NullableElement { static var null: Self { nil } }

/// Parser for one-dimensional array output (`{1,2,NULL}`, `{"a b","c\"d"}`).
enum PostgresArrayLiteral {
    static func parse(_ text: String) throws -> [String?] {
        var scalars = Array(text.unicodeScalars)
        // Optional dimension decoration: [1:3]={...}
        if scalars.first == "[", let equals = scalars.firstIndex(of: "=") {
            scalars.removeSubrange(0...equals)
        }
        guard scalars.first == "{", scalars.last == "}" else { throw decodingError(text, as: [String].self) }
        var items: [String?] = []
        var index = 1
        let end = scalars.count - 1
        if index == end { return [] }
        while index <= end {
            var item = String.UnicodeScalarView()
            var quoted = false
            if scalars[index] == "\"" {
                quoted = true
                index += 1
                while index < end, scalars[index] != "\"" {
                    if scalars[index] == "\\" { index += 1 }
                    guard index < end else { break }
                    item.append(scalars[index])
                    index += 1
                }
                index += 1 // closing quote
            } else {
                while index < end, scalars[index] != "," {
                    if scalars[index] == "{" { throw PostgresError(code: .decoding, message: "multi-dimensional arrays are not supported") }
                    item.append(scalars[index])
                    index += 1
                }
            }
            let value = String(item)
            items.append(!quoted && value == "NULL" ? nil : value)
            guard index < end else { break }
            guard scalars[index] == "," else { throw decodingError(text, as: [String].self) }
            index += 1
        }
        return items
    }
}

// MARK: - Timestamps

public enum PostgresTimestamp {
    /// ISO 8601 in UTC with microseconds, e.g. `2026-11-29T09:01:37.123456Z`.
    public static func format(_ date: Date) -> String {
        var micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let whole = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        micros -= whole * 1_000_000
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let fraction = String(micros)
        let paddedFraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(paddedFraction)Z"
    }

    static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<digits {
                let byte = bytes[index + offset]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += digits
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect(" T"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2) else { return nil }
        var micros = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(bytes[index] - 48); digits += 1 }
                index += 1
            }
            while digits < 6 { micros *= 10; digits += 1 }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            if bytes[index] == UInt8(ascii: "Z") {
                index += 1
            } else {
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                guard expect("+-"), let hours = number(2) else { return nil }
                var minutes = 0
                if index < bytes.count, bytes[index] == UInt8(ascii: ":") { index += 1 }
                if index < bytes.count { guard let value = number(2) else { return nil }; minutes = value }
                if index < bytes.count, bytes[index] == UInt8(ascii: ":") { index += 1; _ = number(2) }
                offsetSeconds = sign * (hours * 3600 + minutes * 60)
            }
        }
        guard index == bytes.count else { return nil }
        // Days from civil (Howard Hinnant's algorithm), proleptic Gregorian calendar.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}

extension PostgresTimestamp {
    /// A timestamp for people: `2026-11-29 09:01:37Z`.
    public static func display(_ date: Date) -> String {
        let text = format(date)
        return text.prefix(10) + " " + text.dropFirst(11).prefix(8) + "Z"
    }
}
