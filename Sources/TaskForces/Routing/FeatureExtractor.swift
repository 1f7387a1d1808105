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

// MARK: - The fast path: feature ids straight from UTF-8 bytes

/// A model's feature names, looked up by their UTF-8 bytes: an open-addressing hash table
/// (FNV-1a over the bytes, names kept in one byte arena and compared on a hit), so a text's
/// n-grams find their feature ids without a `String` being made for any of them.
package struct FeatureTable: Sendable {
    private let slots: [Int32]        // feature id + 1; 0 = empty
    private let slotHashes: [UInt64]
    private let arena: [UInt8]
    private let offsets: [Int]        // names[i] is arena[offsets[i]..<offsets[i + 1]]
    private let mask: Int

    /// - Parameter names: the feature names, in id order (a name listed twice keeps its last id,
    ///   as a `[String: Int]` built in order would).
    package init(_ names: [String]) {
        var arena: [UInt8] = []
        var offsets: [Int] = [0]
        for name in names {
            arena.append(contentsOf: name.utf8)
            offsets.append(arena.count)
        }
        var capacity = 16
        while capacity < names.count * 2 { capacity *= 2 }
        var slots = [Int32](repeating: 0, count: capacity)
        var slotHashes = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        arena.withUnsafeBufferPointer { bytes in
            for id in names.indices {
                let key = UnsafeBufferPointer(rebasing: bytes[offsets[id]..<offsets[id + 1]])
                let hash = Self.hash(key)
                var slot = Int(truncatingIfNeeded: hash) & mask
                while slots[slot] != 0 {
                    let other = Int(slots[slot] - 1)
                    if slotHashes[slot] == hash, bytes[offsets[other]..<offsets[other + 1]].elementsEqual(key) { break }
                    slot = (slot + 1) & mask
                }
                slots[slot] = Int32(id + 1)
                slotHashes[slot] = hash
            }
        }
        self.slots = slots
        self.slotHashes = slotHashes
        self.arena = arena
        self.offsets = offsets
        self.mask = mask
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    /// The id of the feature whose name has exactly these bytes, nil when there is none.
    func id(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        let hash = Self.hash(key)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            if slotHashes[slot] == hash {
                let id = Int(entry - 1)
                let start = offsets[id], count = offsets[id + 1] - start
                if count == key.count {
                    let found = arena.withUnsafeBufferPointer { arena in
                        var index = 0
                        while index < count && arena[start + index] == key[index] { index += 1 }
                        return index == count
                    }
                    if found { return id }
                }
            }
            slot = (slot + 1) & mask
        }
    }

    /// ``id(of:)`` for a name given as a string (tests, fallbacks).
    func id(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { id(of: $0) }
    }
}

extension FeatureExtractor {
    /// The features of one normalised text that `table` knows, as (feature id, count) sorted
    /// by id — exactly what ``features(of:)`` counts, restricted to the table's names — or
    /// nil when the text holds a character the byte path does not handle (it then falls back
    /// to ``features(of:)``).
    ///
    /// The byte path reads the UTF-8 of the text once. It handles texts whose every scalar
    /// is a grapheme cluster of its own and compares as its bytes (ASCII, Latin-1 and Latin
    /// Extended-A/B letters, general and CJK punctuation, full-width forms, CJK ideographs),
    /// which is what normalised enterprise text is; anything that could join a neighbour into
    /// one `Character` (combining marks, variation selectors, joiners, Hangul jamo, emoji
    /// modifiers, …) or that has a singleton canonical decomposition sends the text to ``features(of:)``,
    /// so both paths see the same characters.
    package func featureCounts(of normalized: String, table: FeatureTable) -> [(Int, Int)]? {
        var text = normalized
        return text.withUTF8 { bytes in FastFeatures.counts(bytes, table: table) }
    }
}

/// The per-text work of ``FeatureExtractor/featureCounts(of:table:)``.
private enum FastFeatures {
    // Scalar classes (bits).
    static let safe: UInt8 = 1
    static let ideographic: UInt8 = 2
    static let wordCharacter: UInt8 = 4   // Character.isLetter || Character.isNumber
    static let number: UInt8 = 8          // Character.isNumber

    /// Classes of the BMP, computed once from the same `Character` properties the reference uses.
    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for value in 0..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(value)), isSafe(UInt32(value)) else { continue }
            table[value] = classes(of: scalar)
        }
        return table
    }()

    static func classes(of scalar: Unicode.Scalar) -> UInt8 {
        let character = Character(scalar)
        var bits = safe
        if scalar.properties.isIdeographic { bits |= ideographic }
        if character.isLetter || character.isNumber { bits |= wordCharacter }
        if character.isNumber { bits |= number }
        return bits
    }

    /// Scalars that are always a grapheme cluster of their own (Grapheme_Cluster_Break
    /// Other, never joined to a neighbour), in NFC, and without a singleton decomposition
    /// (so two different byte strings of them are never equal as `String`s).
    static func isSafe(_ value: UInt32) -> Bool {
        switch value {
        case 0x20...0x7E, 0xA0...0xAC, 0xAE...0x24F, 0x2010...0x2027, 0x2030...0x205E,
             0x3000...0x3029, 0x3030...0x303F, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xFF01...0xFF9D, 0xFFE0...0xFFE6,
             0x20000...0x2EBEF, 0x30000...0x323AF:
            return true
        default:
            return false
        }
    }

    static func classOf(_ value: UInt32) -> UInt8 {
        if value < 0x10000 { return bmp[Int(value)] }
        guard isSafe(value), let scalar = Unicode.Scalar(value) else { return 0 }
        return classes(of: scalar)
    }

    static let stopWords = FeatureTable(Array(FeatureExtractor.stopWords))
    static let suffixes: [[UInt8]] = ["ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ers", "ed", "es", "er", "ly", "s"].map { Array($0.utf8) }

    static func counts(_ text: UnsafeBufferPointer<UInt8>, table: FeatureTable) -> [(Int, Int)]? {
        // Decode: each scalar's first byte offset and class.
        var starts: [Int] = []
        var kinds: [UInt8] = []
        starts.reserveCapacity(text.count + 1)
        kinds.reserveCapacity(text.count)
        var position = 0
        var amount = false
        while position < text.count {
            let lead = text[position]
            var value: UInt32
            var length: Int
            if lead < 0x80 { value = UInt32(lead); length = 1 }
            else if lead < 0xE0 { value = UInt32(lead & 0x1F); length = 2 }
            else if lead < 0xF0 { value = UInt32(lead & 0x0F); length = 3 }
            else { value = UInt32(lead & 0x07); length = 4 }
            for offset in 1..<max(length, 1) { value = value << 6 | UInt32(text[position + offset] & 0x3F) }
            let bits = classOf(value)
            if bits & safe == 0 { return nil }
            if value == 0x24 || value == 0xA5 || value == 0xFFE5 { amount = true }
            starts.append(position)
            kinds.append(bits)
            position += length
        }
        starts.append(text.count)

        var ids: [Int] = []
        ids.reserveCapacity(text.count)
        var key: [UInt8] = []
        key.reserveCapacity(128)
        var previousStem: [UInt8] = []
        var hasPrevious = false
        var stem: [UInt8] = []
        var letters: [UInt8] = []
        var letterStarts: [Int] = []

        func add(_ key: UnsafeBufferPointer<UInt8>) {
            if let id = table.id(of: key) { ids.append(id) }
        }
        func addKey() { key.withUnsafeBufferPointer { add($0) } }

        func flushHan(_ first: Int, _ end: Int) {
            guard first < end else { return }
            let count = end - first
            for index in 0..<count {
                let from = starts[first + index]
                add(UnsafeBufferPointer(rebasing: text[from..<starts[first + index + 1]]))
                if index + 1 < count { add(UnsafeBufferPointer(rebasing: text[from..<starts[first + index + 2]])) }
                if index + 2 < count { add(UnsafeBufferPointer(rebasing: text[from..<starts[first + index + 3]])) }
            }
        }
        func flushWord(_ first: Int, _ end: Int) {
            guard first < end else { return }
            var allNumbers = true, ascii = true
            for index in first..<end {
                if kinds[index] & number == 0 { allNumbers = false }
                if text[starts[index]] >= 0x80 { ascii = false }
            }
            if allNumbers {
                key.removeAll(keepingCapacity: true)
                key.append(contentsOf: "#num".utf8)
                addKey()
                hasPrevious = false
                return
            }
            // The stem (FeatureExtractor.stem): its bytes, and how many characters it has.
            let wordBytes = UnsafeBufferPointer(rebasing: text[starts[first]..<starts[end]])
            let characters = end - first
            stem.removeAll(keepingCapacity: true)
            var stemCharacters = characters
            var stemmed = false
            if characters > 4, ascii {
                for suffix in suffixes where wordBytes.count - suffix.count >= 3 && wordBytes.count >= suffix.count {
                    if wordBytes[(wordBytes.count - suffix.count)...].elementsEqual(suffix) {
                        stem.append(contentsOf: wordBytes[..<(wordBytes.count - suffix.count)])
                        if suffix == suffixes[6] || suffix == suffixes[7] { stem.append(UInt8(ascii: "y")) }
                        stemCharacters = stem.count
                        stemmed = true
                        break
                    }
                }
            }
            if !stemmed { stem.append(contentsOf: wordBytes) }
            let isStopWord = stem.withUnsafeBufferPointer { stopWords.id(of: $0) != nil }
            if stemCharacters < 2 || isStopWord { hasPrevious = false; return }
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: "w:".utf8)
            key.append(contentsOf: stem)
            addKey()
            if hasPrevious {
                key.removeAll(keepingCapacity: true)
                key.append(contentsOf: "w:".utf8)
                key.append(contentsOf: previousStem)
                key.append(UInt8(ascii: " "))
                key.append(contentsOf: stem)
                addKey()
            }
            previousStem.removeAll(keepingCapacity: true)
            previousStem.append(contentsOf: stem)
            hasPrevious = true
            // Letter trigrams of "<stem>".
            guard stemCharacters + 2 >= 5 else { return }
            letters.removeAll(keepingCapacity: true)
            letterStarts.removeAll(keepingCapacity: true)
            letterStarts.append(0)
            letters.append(UInt8(ascii: "<"))
            if stemmed || ascii {
                for byte in stem { letterStarts.append(letters.count); letters.append(byte) }
            } else {
                for index in first..<end {
                    letterStarts.append(letters.count)
                    letters.append(contentsOf: text[starts[index]..<starts[index + 1]])
                }
            }
            letterStarts.append(letters.count)
            letters.append(UInt8(ascii: ">"))
            letterStarts.append(letters.count)
            let count = letterStarts.count - 1
            for index in 0...(count - 3) {
                key.removeAll(keepingCapacity: true)
                key.append(contentsOf: "l:".utf8)
                key.append(contentsOf: letters[letterStarts[index]..<letterStarts[index + 3]])
                addKey()
            }
        }

        var hanStart = 0, hanEnd = 0      // the current run of Han characters [hanStart, hanEnd)
        var wordStart = 0, wordEnd = 0    // the current word
        for index in kinds.indices {
            let bits = kinds[index]
            if bits & ideographic != 0 {
                flushWord(wordStart, wordEnd); wordStart = index + 1; wordEnd = index + 1
                hasPrevious = false
                if hanStart == hanEnd { hanStart = index }
                hanEnd = index + 1
            } else if bits & wordCharacter != 0 {
                flushHan(hanStart, hanEnd); hanStart = index + 1; hanEnd = index + 1
                if wordStart == wordEnd { wordStart = index }
                wordEnd = index + 1
            } else {
                flushHan(hanStart, hanEnd); hanStart = index + 1; hanEnd = index + 1
                flushWord(wordStart, wordEnd); wordStart = index + 1; wordEnd = index + 1
                if text[starts[index]] != UInt8(ascii: " ") { hasPrevious = false }
            }
        }
        flushHan(hanStart, hanEnd)
        flushWord(wordStart, wordEnd)
        if amount || contains(text, "rmb") || contains(text, "yuan") {
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: "#amount".utf8)
            addKey()
        }

        ids.sort()
        var result: [(Int, Int)] = []
        result.reserveCapacity(ids.count)
        var index = 0
        while index < ids.count {
            var next = index + 1
            while next < ids.count && ids[next] == ids[index] { next += 1 }
            result.append((ids[index], next - index))
            index = next
        }
        return result
    }

    static func contains(_ text: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let count = needle.utf8CodeUnitCount
        guard text.count >= count else { return false }
        let bytes = UnsafeBufferPointer(start: needle.utf8Start, count: count)
        for start in 0...(text.count - count) where text[start] == bytes[0] {
            if text[start..<(start + count)].elementsEqual(bytes) { return true }
        }
        return false
    }
}
