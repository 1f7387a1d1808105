/// Turns normalised text into the sparse features the routing model reads.
///
/// - Chinese: character unigrams, bigrams and trigrams of each run of Han characters
///   (no word segmentation needed, and robust to typos that change one character).
/// - English and other Latin text: lightly stemmed words (`w:refund`), word bigrams
///   (`w:tax refund`), and character trigrams inside words (`l:fun`) for misspellings.
/// - Numbers collapse to `#num`; an amount with a currency becomes `#amount` too.
package struct FeatureExtractor: Sendable {
    package init() {}

    /// Feature counts of one normalised text (see ``TextNormalizer``).
    package func features(of normalized: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        func add(_ feature: String) { counts[feature, default: 0] += 1 }

        var han: [Character] = []
        var word = ""
        var previousWord: String?
        func flushHan() {
            guard !han.isEmpty else { return }
            for index in han.indices {
                add(String(han[index]))
                if index + 1 < han.count { add(String(han[index...index + 1])) }
                if index + 2 < han.count { add(String(han[index...index + 2])) }
            }
            han.removeAll(keepingCapacity: true)
        }
        func flushWord() {
            guard !word.isEmpty else { return }
            defer { word = "" }
            if word.allSatisfy(\.isNumber) {
                add("#num")
                previousWord = nil
                return
            }
            let stem = Self.stem(word)
            // Single letters (the "s" of "engineer's") and stop words carry no topic.
            if stem.count < 2 || Self.stopWords.contains(stem) { previousWord = nil; return }
            add("w:" + stem)
            if let previousWord { add("w:" + previousWord + " " + stem) }
            previousWord = stem
            let letters = Array("<" + stem + ">")
            if letters.count >= 5 {
                for index in 0...(letters.count - 3) { add("l:" + String(letters[index..<index + 3])) }
            }
        }

        for character in normalized {
            if character.unicodeScalars.first.map({ $0.properties.isIdeographic }) == true {
                flushWord()
                previousWord = nil
                han.append(character)
            } else if character.isLetter || character.isNumber {
                flushHan()
                word.append(character)
            } else {
                flushHan()
                flushWord()
                if character != " " { previousWord = nil }
            }
        }
        flushHan()
        flushWord()
        if normalized.contains(where: { "¥￥$".contains($0) }) || normalized.contains("rmb") || normalized.contains("yuan") {
            add("#amount")
        }
        return counts
    }

    /// A light English stemmer: enough to merge plural and tense forms.
    static func stem(_ word: String) -> String {
        guard word.count > 4, word.allSatisfy({ $0.isASCII }) else { return word }
        for suffix in ["ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ers", "ed", "es", "er", "ly", "s"] {
            if word.hasSuffix(suffix), word.count - suffix.count >= 3 {
                var base = String(word.dropLast(suffix.count))
                if suffix == "ies" || suffix == "ied" { base += "y" }
                return base
            }
        }
        return word
    }

    static let stopWords: Set<String> = [
        "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "is", "are", "was", "were", "be", "been",
        "it", "its", "our", "we", "us", "my", "i", "you", "your", "this", "that", "with", "at", "by", "from",
        "has", "have", "had", "not", "but", "as", "so", "do", "does", "did", "can", "could", "will", "would",
        "please", "pls", "hi", "hello", "they", "their", "them", "there", "what", "when", "which", "who",
    ]
}
