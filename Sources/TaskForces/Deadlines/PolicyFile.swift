import Foundation

/// The policy files' shared reading toolkit: the embedded copies, and a JSON tree that
/// knows the path of every field, so errors name the file and the field
/// (`calendar.json: holidays[3] "2026-13-01" is not a date (YYYY-MM-DD)`).
enum PolicyFile {
    /// The content of a data file the build embedded (`data/policy/<name>`, see the
    /// EmbedFiles plugin): the defaults the binary carries.
    static func embedded(_ name: String) throws -> String {
        guard let file = embeddedFiles.first(where: { $0.name == name }) else {
            throw TaskForcesError.invalidData(file: name, field: "", problem: "is not embedded in this build; rebuild the package")
        }
        return file.content
    }
}

// MARK: - Reading the data files

/// Any JSON value, decoded without a fixed schema so that the deadline data files can be
/// checked field by field with messages that name the field.
enum DeadlineJSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([DeadlineJSONValue])
    case object([String: DeadlineJSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([DeadlineJSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: DeadlineJSONValue].self))
        }
    }

    /// What kind of value this is, for messages ("a string", "an array", …).
    var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON value together with the file and the path that reached it, e.g. `workingHours[1].end`.
struct DeadlineJSONField: Sendable {
    let file: String
    let path: String
    let value: DeadlineJSONValue

    /// Parses a whole file.
    static func parse(_ data: Data, file: String) throws -> DeadlineJSONField {
        do {
            return DeadlineJSONField(file: file, path: "", value: try JSONDecoder().decode(DeadlineJSONValue.self, from: data))
        } catch {
            throw TaskForcesError.invalidData(file: file, field: "", problem: "is not valid JSON (\(syntaxDiagnosis(of: data) ?? "\(error)"))")
        }
    }

    /// Where and why JSON text fails to parse, e.g. `line 3: Invalid value around character 41.`,
    /// from JSONSerialization (whose messages say more than JSONDecoder's); nil if it parses.
    private static func syntaxDiagnosis(of data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            guard let marker = detail.range(of: "character "),
                  let offset = Int(detail[marker.upperBound...].prefix(while: { $0.isNumber })),
                  offset <= data.count
            else { return detail }
            let line = data.prefix(offset).reduce(1) { lines, byte in byte == 0x0A ? lines + 1 : lines }
            return "line \(line): \(detail)"
        }
    }

    /// An error about this field.
    func failure(_ problem: String) -> TaskForcesError {
        TaskForcesError.invalidData(file: file, field: path, problem: problem)
    }

    /// The member `key` of this object (for naming a missing member too).
    func child(_ key: String, value: DeadlineJSONValue = .null) -> DeadlineJSONField {
        DeadlineJSONField(file: file, path: path.isEmpty ? key : "\(path).\(key)", value: value)
    }

    private func typeFailure(_ expected: String) -> TaskForcesError {
        if path.isEmpty { return failure("should hold \(expected), found \(value.kindDescription)") }
        return failure("should be \(expected), found \(value.kindDescription)")
    }

    /// The members of this object, after checking that it is an object, that every required
    /// member is present and that there is no member of another name (a misspelt key).
    func members(required: [String], optional: [String] = []) throws -> [String: DeadlineJSONField] {
        guard case .object(let object) = value else { throw typeFailure("an object") }
        let known = Set(required + optional)
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw child(unknown).failure("is not a known field (expected: \(known.sorted().joined(separator: ", ")))")
        }
        if let missing = required.first(where: { object[$0] == nil }) {
            throw child(missing).failure("is missing")
        }
        var fields: [String: DeadlineJSONField] = [:]
        for (key, member) in object { fields[key] = child(key, value: member) }
        return fields
    }

    /// The members of this object whose names the data chooses (e.g. task force keys), sorted by name.
    func namedMembers() throws -> [(name: String, field: DeadlineJSONField)] {
        guard case .object(let object) = value else { throw typeFailure("an object") }
        return object.keys.sorted().compactMap { key in object[key].map { (key, child(key, value: $0)) } }
    }

    /// The elements of this array, each with its index in the path.
    func array() throws -> [DeadlineJSONField] {
        guard case .array(let elements) = value else { throw typeFailure("an array") }
        return elements.enumerated().map { index, element in
            DeadlineJSONField(file: file, path: "\(path)[\(index)]", value: element)
        }
    }

    func string() throws -> String {
        guard case .string(let text) = value else { throw typeFailure("a string") }
        return text
    }

    func number() throws -> Double {
        guard case .number(let number) = value, number.isFinite else { throw typeFailure("a number") }
        return number
    }

    func integer() throws -> Int {
        let number = try number()
        guard number == number.rounded(), abs(number) < 1e15 else { throw failure("should be a whole number, found \(number)") }
        return Int(number)
    }

    /// Notes: one string, or an array of strings.
    func notes() throws -> [String] {
        if case .string(let text) = value { return [text] }
        guard case .array = value else { throw typeFailure("a string or an array of strings") }
        return try array().map { try $0.string() }
    }
}
