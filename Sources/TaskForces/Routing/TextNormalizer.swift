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

    /// Traditional → simplified Chinese; other text passes through unchanged.
    package func toSimplified(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value >= 0x2E80 }) else { return text }
        return converter.withLock { $0.convert(text) } ?? text
    }

    /// Which script `text` is mostly written in: English when it has no Chinese
    /// characters; traditional when OpenCC would change some of them.
    package func script(of text: String) -> TextScript {
        let han = text.unicodeScalars.filter { $0.properties.isIdeographic }.count
        let latin = text.unicodeScalars.filter { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }.count
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
