/// A token added on top of the model vocabulary (special tokens, prompt markers...), with the
/// flags of the `tokenizers` format.
public struct AddedToken: Sendable, Equatable {
    public let id: Int
    public let content: String
    /// Only matches when not surrounded by word characters.
    public let singleWord: Bool
    /// Swallows the whitespace on its left.
    public let lstrip: Bool
    /// Swallows the whitespace on its right.
    public let rstrip: Bool
    /// Matched on normalized text (second pass) rather than on the raw text (first pass).
    public let normalized: Bool
    /// Special tokens are skipped when decoding with `skipSpecialTokens`.
    public let special: Bool

    public init(
        id: Int, content: String, singleWord: Bool = false, lstrip: Bool = false,
        rstrip: Bool = false, normalized: Bool = false, special: Bool = true
    ) {
        self.id = id
        self.content = content
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.special = special
    }
}

/// One piece of text after added-token extraction: either an added token's id or a byte
/// range of text still to be tokenized.
enum TextPiece: Equatable {
    case token(Int)
    case text(Range<Int>)
}

/// Finds added tokens in UTF-8 text the way the reference does: leftmost-longest,
/// non-overlapping matches of all token contents; a `singleWord` match next to a word
/// character is dropped; `lstrip`/`rstrip` widen the match over adjacent whitespace.
struct AddedTokenMatcher: Sendable {
    /// Candidates by first byte, longest first (so the first hit at a position is the longest).
    private let byFirstByte: [[Candidate]]
    let isEmpty: Bool

    private struct Candidate: Sendable {
        let bytes: [UInt8]
        let token: AddedToken
    }

    /// - Parameter patterns: each token with the byte string to look for (its content, or its
    ///   normalized content for the normalized pass).
    init(_ patterns: [(token: AddedToken, pattern: String)]) {
        var table = [[Candidate]](repeating: [], count: 256)
        for (token, pattern) in patterns {
            let bytes = Array(pattern.utf8)
            guard let first = bytes.first else { continue }
            table[Int(first)].append(Candidate(bytes: bytes, token: token))
        }
        for index in table.indices {
            // Stable for equal lengths: among identical patterns the first registered wins.
            table[index] = table[index].enumerated().sorted { a, b in
                a.element.bytes.count != b.element.bytes.count
                    ? a.element.bytes.count > b.element.bytes.count : a.offset < b.offset
            }.map(\.element)
        }
        byFirstByte = table
        isEmpty = patterns.allSatisfy { $0.pattern.isEmpty }
    }

    /// Splits `text` into token and text pieces covering it (pieces may overlap only in the
    /// odd cases the reference also produces, see `rstrip`). Empty text pieces are omitted.
    func split(_ text: [UInt8]) -> [TextPiece] {
        if isEmpty { return text.isEmpty ? [] : [.text(0..<text.count)] }
        var pieces: [TextPiece] = []
        var emitted = 0  // end of the last emitted piece
        var position = 0  // where the next search starts
        while position < text.count {
            guard let candidate = longestMatch(in: text, at: position) else {
                position += 1
                continue
            }
            var start = position
            var stop = position + candidate.bytes.count
            position = stop
            let token = candidate.token
            if token.singleWord {
                let before = start == 0 || !Self.endsWithWordCharacter(text, before: start)
                let after = stop == text.count || !Self.startsWithWordCharacter(text, at: stop)
                if !(before && after) { continue }
            }
            if token.lstrip {
                start = max(Self.whitespaceStart(text, before: start), emitted)
            }
            if token.rstrip {
                stop = Self.whitespaceEnd(text, from: stop)
            }
            if emitted < start { pieces.append(.text(emitted..<start)) }
            pieces.append(.token(token.id))
            emitted = stop
        }
        if emitted < text.count { pieces.append(.text(emitted..<text.count)) }
        return pieces
    }

    private func longestMatch(in text: [UInt8], at position: Int) -> Candidate? {
        let candidates = byFirstByte[Int(text[position])]
        if candidates.isEmpty { return nil }
        let remaining = text.count - position
        for candidate in candidates where candidate.bytes.count <= remaining {
            var equal = true
            for offset in 1..<candidate.bytes.count where text[position + offset] != candidate.bytes[offset] {
                equal = false
                break
            }
            if equal { return candidate }
        }
        return nil
    }

    // MARK: - Character tests at byte offsets (text is valid UTF-8)

    private static func scalar(endingAt end: Int, in text: [UInt8]) -> (Unicode.Scalar, Int)? {
        var start = end - 1
        while start > 0 && text[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0, let scalar = decode(text, at: start)?.0 else { return nil }
        return (scalar, start)
    }

    private static func decode(_ text: [UInt8], at start: Int) -> (Unicode.Scalar, Int)? {
        var iterator = text[start...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) {
            return (scalar, UTF8.width(scalar))
        }
        return nil
    }

    static func endsWithWordCharacter(_ text: [UInt8], before end: Int) -> Bool {
        guard let (scalar, _) = scalar(endingAt: end, in: text) else { return false }
        return isWordScalar(scalar)
    }

    static func startsWithWordCharacter(_ text: [UInt8], at start: Int) -> Bool {
        guard let (scalar, _) = decode(text, at: start) else { return false }
        return isWordScalar(scalar)
    }

    /// Start of the whitespace run that ends at `end`.
    static func whitespaceStart(_ text: [UInt8], before end: Int) -> Int {
        var start = end
        while start > 0, let (scalar, scalarStart) = scalar(endingAt: start, in: text),
            scalar.properties.isWhitespace
        {
            start = scalarStart
        }
        return start
    }

    /// End of the whitespace run that starts at `start`.
    static func whitespaceEnd(_ text: [UInt8], from start: Int) -> Int {
        var end = start
        while end < text.count, let (scalar, width) = decode(text, at: end), scalar.properties.isWhitespace {
            end += width
        }
        return end
    }
}
