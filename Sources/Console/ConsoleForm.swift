import Foundation

/// The fields of an `application/x-www-form-urlencoded` body or a query string.
package struct ConsoleForm: Sendable {
    private var fields: [(String, String)]

    /// Parses `a=1&b=x+y%21`; a malformed escape keeps the raw text.
    package init(encoded text: String) {
        fields = text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The first value of `name`.
    package subscript(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }

    /// Every value of `name` (checkboxes).
    package func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }

    /// `name`'s value with surrounding white space removed, nil when empty.
    package func trimmed(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}

/// HTML text and attribute escaping, and URL query encoding.
package enum HTML {
    /// Escapes `&`, `<`, `>`, `"` and `'`: safe in text and in quoted attributes.
    ///
    /// By Unicode scalar, not by `Character`: a quote followed by a combining mark
    /// (`"\u{301}`) is one grapheme cluster that equals no `"`, yet the browser still reads
    /// the quote and the attribute would end there.
    package static func escape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// Percent-encodes a query value.
    package static func query(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
