import Foundation
import PostgresClient
import TaskForces

/// The JSON of intake's ledger events and routing terms, written directly: the same bytes
/// as ``LedgerEvent/json`` and `CaseIntake.termsJSON` (JSONSerialization with sorted keys),
/// which cost more than classifying the case. A test compares both on every event the
/// corpus gives and on strings with every character JSON escapes.
///
/// The rules followed (swift-corelibs-foundation's JSON writer): keys in sorted order,
/// strings with `"`, `\`, and U+0000–U+001F escaped (`\b \f \n \r \t`, else `\u00XX` in
/// lower-case hex), `/` escaped only without `.withoutEscapingSlashes`, everything else
/// as UTF-8; a `Double` as its `description` without a trailing `.0`; `null` for nil.
enum IntakeJSON {
    static func received(channel: CaseChannel, externalID: String?, enterprise: String?, language: String) -> String {
        var out = "{\"channel\":"
        string(channel.rawValue, into: &out)
        out += ",\"enterprise\":"
        optional(enterprise, into: &out)
        out += ",\"external_id\":"
        optional(externalID, into: &out)
        out += ",\"language\":"
        string(language, into: &out)
        out += "}"
        return out
    }

    static func classified(taskForce: TaskForce, predicted: TaskForce, confidence: Double, terms: [WeightedTerm], triageReason: String?) -> String? {
        guard let confidenceText = number(confidence) else { return nil }
        var out = "{\"confidence\":" + confidenceText + ",\"predicted\":"
        string(predicted.rawValue, into: &out)
        out += ",\"source\":\"automatic\",\"task_force\":"
        string(taskForce.rawValue, into: &out)
        out += ",\"terms\":"
        guard termList(terms, escapingSlashes: false, into: &out) else { return nil }
        if let triageReason {
            out += ",\"triage_reason\":"
            string(triageReason, into: &out)
        }
        out += "}"
        return out
    }

    static func classifiedManually(taskForce: TaskForce) -> String {
        var out = "{\"source\":\"manual\",\"task_force\":"
        string(taskForce.rawValue, into: &out)
        out += "}"
        return out
    }

    static func deadlineSet(dueAt: Date, warnAt: Date, rule: String, kind: String?, urgent: Bool) -> String {
        var out = "{\"due_at\":"
        string(PostgresTimestamp.format(dueAt), into: &out)
        out += ",\"kind\":"
        optional(kind, into: &out)
        out += ",\"rule\":"
        string(rule, into: &out)
        out += ",\"urgent\":" + (urgent ? "true" : "false") + ",\"warn_at\":"
        string(PostgresTimestamp.format(warnAt), into: &out)
        out += "}"
        return out
    }

    static func enqueued(job: Int64, queue: String, level: Int) -> String {
        var out = "{\"job_id\":" + String(job) + ",\"level\":" + String(level) + ",\"queue\":"
        string(queue, into: &out)
        out += "}"
        return out
    }

    /// `CaseIntake.termsJSON`: sorted keys, slashes escaped.
    static func terms(_ terms: [WeightedTerm]) -> String? {
        var out = ""
        return termList(terms, escapingSlashes: true, into: &out) ? out : nil
    }

    private static func termList(_ terms: [WeightedTerm], escapingSlashes: Bool, into out: inout String) -> Bool {
        out += "["
        for (index, term) in terms.enumerated() {
            guard let weight = number(term.weight) else { return false }
            if index > 0 { out += "," }
            out += "{\"term\":"
            string(term.term, escapingSlashes: escapingSlashes, into: &out)
            out += ",\"weight\":" + weight + "}"
        }
        out += "]"
        return true
    }

    /// A finite double as the writer prints it; nil for what it would refuse.
    static func number(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    private static func optional(_ value: String?, into out: inout String) {
        if let value { string(value, into: &out) } else { out += "null" }
    }

    static func string(_ value: String, escapingSlashes: Bool = false, into out: inout String) {
        out += "\""
        var plain = true
        for byte in value.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C || (escapingSlashes && byte == 0x2F) {
            plain = false
            break
        }
        if plain {
            out += value
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "/": out += escapingSlashes ? "\\/" : "/"
                case "\u{8}": out += "\\b"
                case "\u{c}": out += "\\f"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{0}"..."\u{f}": out += "\\u000" + String(scalar.value, radix: 16)
                case "\u{10}"..."\u{1f}": out += "\\u00" + String(scalar.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
