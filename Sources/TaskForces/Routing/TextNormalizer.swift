import COpenCC
import Foundation
import Synchronization

/// The script a text is written in, decided from its characters.
package enum TextScript: String, Sendable, Codable {
    case simplified = "zh-Hans"
    case traditional = "zh-Hant"
    case english = "en"
}

/// Brings enterprise text to one canonical form before routing: Unicode NFKC (full-width
/// letters and digits become ASCII), lower case, traditional Chinese converted to
/// simplified with OpenCC (`t2s`), and runs of whitespace folded.
///
/// OpenCC converters are not documented as thread-safe, so each normaliser guards its
/// converter with a lock; create one per thread for heavy parallel use.
package final class TextNormalizer: Sendable {
    private let converter: Mutex<OpenCCHandle>

    /// Opens OpenCC's `t2s.json` configuration.
    /// - Throws: when OpenCC or its data files are missing (install `libopencc-dev`).
    package init() throws {
        converter = Mutex(try OpenCCHandle(configuration: "t2s.json"))
    }

    /// The canonical form of `text`.
    package func normalize(_ text: String) -> String {
        guard let compatible = NormalizerTables.compatibleLowercased(text) else { return referenceNormalize(text) }
        let simplified = toSimplified(compatible)
        return NormalizerTables.foldWhitespace(simplified)
    }

    /// ``normalize(_:)`` through Foundation for every text (NFKC, then lower case, OpenCC,
    /// whitespace): the reference the fast path is tested against, and its fallback.
    package func referenceNormalize(_ text: String) -> String {
        let compatible = text.precomposedStringWithCompatibilityMapping.lowercased()
        let simplified = toSimplified(compatible)
        var output = ""
        output.reserveCapacity(simplified.utf8.count)
        var lastWasSpace = true
        for scalar in simplified.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 {
                if !lastWasSpace { output.append(" ") }
                lastWasSpace = true
            } else {
                output.unicodeScalars.append(scalar)
                lastWasSpace = false
            }
        }
        if output.hasSuffix(" ") { output.removeLast() }
        return output
    }

    /// Whether `text` takes the fast path of ``normalize(_:)`` (tests).
    package static func takesFastPath(_ text: String) -> Bool { NormalizerTables.compatibleLowercased(text) != nil }

    /// Traditional → simplified Chinese; other text passes through unchanged.
    package func toSimplified(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value >= 0x2E80 }) else { return text }
        return converter.withLock { $0.convert(text) } ?? text
    }

    /// Which script `text` is mostly written in: English when it has no Chinese
    /// characters; traditional when OpenCC would change some of them.
    package func script(of text: String) -> TextScript {
        var han = 0, latin = 0
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                if ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) { latin += 1 }
            } else if scalar.properties.isIdeographic {
                han += 1
            }
        }
        if han == 0 || latin > han * 4 { return .english }
        let simplified = toSimplified(text)
        return simplified == text ? .simplified : .traditional
    }
}

/// Owns an `opencc_t`.
final class OpenCCHandle {
    private let handle: opencc_t

    init(configuration: String) throws {
        let opened = opencc_open(configuration)
        // opencc_open signals failure with (opencc_t)-1, not NULL.
        guard let opened, Int(bitPattern: opened) != -1 else {
            let reason = opencc_error().map { String(cString: $0) } ?? "unknown error"
            throw TaskForcesError.invalidInput("OpenCC could not open \(configuration): \(reason). Install Debian's libopencc-dev (scripts/test does).")
        }
        handle = opened
    }

    func convert(_ text: String) -> String? {
        let utf8 = Array(text.utf8)
        guard let converted = utf8.withUnsafeBufferPointer({ buffer in
            buffer.withMemoryRebound(to: CChar.self) { opencc_convert_utf8(handle, $0.baseAddress, $0.count) }
        }) else { return nil }
        defer { opencc_convert_utf8_free(converted) }
        return String(cString: converted)
    }

    deinit { opencc_close(handle) }
}

/// The normaliser's fast path: NFKC and lower case per scalar from a table, for texts whose
/// every scalar is one whose NFKC form cannot interact with its neighbours.
///
/// NFKC of a concatenation is the concatenation of the parts' NFKC forms when no part can
/// be reordered or composed with the next: here every scalar of the input and of its mapped
/// form is a starter (canonical combining class 0) from blocks whose characters never
/// compose with what precedes them (ASCII, Latin-1 and Latin Extended letters, general and
/// CJK punctuation, full-width forms, CJK ideographs). `String.lowercased()` maps scalar by
/// scalar. So the table — each scalar's `precomposedStringWithCompatibilityMapping.lowercased()`,
/// computed once with Foundation — gives the same bytes as Foundation on the whole text.
/// Any other scalar (combining marks, Hangul, kana, emoji, …) sends the text to Foundation.
enum NormalizerTables {
    /// Per BMP scalar: nil when not handled; else its NFKC-lower-cased UTF-8.
    static let mapping: [[UInt8]?] = {
        var table = [[UInt8]?](repeating: nil, count: 0x10000)
        for value in 0..<0x80 { table[value] = [UInt8(value)] }
        for value in 0x41...0x5A { table[value] = [UInt8(value + 0x20)] }
        for value in candidateRanges.joined() {
            guard let scalar = Unicode.Scalar(UInt32(value)), scalar.properties.canonicalCombiningClass == .notReordered else { continue }
            let mapped = String(scalar).precomposedStringWithCompatibilityMapping.lowercased()
            guard !mapped.isEmpty, mapped.unicodeScalars.allSatisfy({ isInert($0) }) else { continue }
            table[value] = Array(mapped.utf8)
        }
        return table
    }()

    /// Blocks whose scalars may take the fast path (each still checked one by one).
    static let candidateRanges: [ClosedRange<Int>] = [
        0xA0...0x24F, 0x2010...0x2027, 0x2030...0x205E, 0x3000...0x3029, 0x3030...0x303F,
        0xFF01...0xFF64, 0xFFE0...0xFFE6,
    ]

    /// CJK Unified Ideographs (and Extension A): no decomposition, no case; NFKC leaves them
    /// alone (a test checks every one against Foundation).
    @inline(__always) static func isUnifiedIdeograph(_ value: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value)
    }

    /// A starter that never composes with a preceding scalar and is left alone by NFKC
    /// when it stands next to another such scalar.
    static func isInert(_ scalar: Unicode.Scalar) -> Bool {
        guard scalar.properties.canonicalCombiningClass == .notReordered else { return false }
        switch scalar.value {
        case 0x20...0x7E, 0xA0...0x24F, 0x3BC, 0x2010...0x2027, 0x2030...0x205E, 0x2985, 0x2986,
             0x3000...0x3029, 0x3030...0x303F, 0x3400...0x4DBF, 0x4E00...0x9FFF:
            return true
        default:
            return false
        }
    }

    /// `text.precomposedStringWithCompatibilityMapping.lowercased()`, or nil when a scalar
    /// of `text` is not in the table.
    static func compatibleLowercased(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            var ascii = true
            for byte in bytes where byte >= 0x80 { ascii = false; break }
            if ascii {
                // NFKC leaves ASCII alone.
                return String(unsafeUninitializedCapacity: bytes.count) { output in
                    for (index, byte) in bytes.enumerated() { output[index] = byte &- 0x41 < 26 ? byte | 0x20 : byte }
                    return bytes.count
                }
            }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count + 16)
            var position = 0
            while position < bytes.count {
                let lead = bytes[position]
                if lead < 0x80 {
                    output.append(lead &- 0x41 < 26 ? lead | 0x20 : lead)
                    position += 1
                    continue
                }
                guard lead >= 0xC0, lead < 0xF0 else { return nil }   // BMP only
                let length = lead < 0xE0 ? 2 : 3
                var value = UInt32(lead & (length == 2 ? 0x1F : 0x0F))
                for offset in 1..<length { value = value << 6 | UInt32(bytes[position + offset] & 0x3F) }
                if isUnifiedIdeograph(value) {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<(position + length)]))
                } else {
                    guard let mapped = mapping[Int(value)] else { return nil }
                    output.append(contentsOf: mapped)
                }
                position += length
            }
            return String(decoding: output, as: UTF8.self)
        }
    }

    /// Runs of whitespace and control characters as one space, none at either end.
    static func foldWhitespace(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var lastWasSpace = true
            var position = 0
            while position < bytes.count {
                let lead = bytes[position]
                var length = 1
                var space: Bool
                if lead < 0x80 {
                    space = lead < 0x20 || lead == 0x20
                } else {
                    length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
                    var value = UInt32(lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07))
                    for offset in 1..<length { value = value << 6 | UInt32(bytes[position + offset] & 0x3F) }
                    space = Unicode.Scalar(value)?.properties.isWhitespace ?? false
                }
                if space {
                    if !lastWasSpace { output.append(0x20) }
                    lastWasSpace = true
                } else {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<(position + length)]))
                    lastWasSpace = false
                }
                position += length
            }
            if output.last == 0x20 { output.removeLast() }
            return String(decoding: output, as: UTF8.self)
        }
    }
}
