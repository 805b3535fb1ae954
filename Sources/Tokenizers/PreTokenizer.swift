/// Splits normalized text into the words the model tokenizes independently.
protocol PreTokenizer: Sendable {
    /// Calls `body` with each word of `text` (valid UTF-8), in order.
    func split(_ text: [UInt8], _ body: (ArraySlice<UInt8>) throws -> Void) rethrows
}

/// The `ByteLevel` pre-tokenizer: optionally prefixes a space, then (with `use_regex`) splits
/// with GPT-2's pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// keeping every match as a word. The pattern is evaluated by hand (no regex engine): at each
/// position the first alternative that matches wins, exactly as a backtracking engine would
/// choose. The byte-to-character mapping itself is folded into the BPE model, which works on
/// raw bytes.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    func split(_ text: [UInt8], _ body: (ArraySlice<UInt8>) throws -> Void) rethrows {
        if addPrefixSpace && text.first != 0x20 {
            // The space is added to every piece between added tokens, even an empty one is
            // never seen here (empty pieces are dropped earlier).
            try splitWords([0x20] + text, body)
        } else {
            try splitWords(text, body)
        }
    }

    private func splitWords(_ text: [UInt8], _ body: (ArraySlice<UInt8>) throws -> Void) rethrows {
        guard useRegex else {
            if !text.isEmpty { try body(text[...]) }
            return
        }
        let scalars = ScalarTable(utf8: text)
        var position = 0
        while position < scalars.count {
            let end = scalars.gpt2MatchEnd(from: position)
            try body(text[scalars.offsets[position]..<scalars.offsets[end]])
            position = end
        }
    }
}

/// Per-scalar classes and byte offsets of one piece of UTF-8 text.
struct ScalarTable {
    /// Class of each scalar.
    var classes: [ScalarClass] = []
    /// The ASCII byte of each scalar, or 0 for non-ASCII scalars.
    var ascii: [UInt8] = []
    /// Byte offset of each scalar, plus the total length at the end.
    var offsets: [Int] = []

    var count: Int { classes.count }

    init(utf8 text: [UInt8]) {
        classes.reserveCapacity(text.count)
        ascii.reserveCapacity(text.count)
        offsets.reserveCapacity(text.count + 1)
        var offset = 0
        var iterator = text.makeIterator()
        var decoder = UTF8()
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                classes.append(ScalarClass(scalar))
                ascii.append(scalar.isASCII ? UInt8(scalar.value) : 0)
                offsets.append(offset)
                offset += UTF8.width(scalar)
            case .emptyInput:
                break decoding
            case .error:
                // Unreachable for text that came from a Swift String; count the byte as "other"
                // so offsets stay consistent rather than trapping.
                classes.append(.other)
                ascii.append(0)
                offsets.append(offset)
                offset += 1
            }
        }
        offsets.append(offset)
    }

    /// End (exclusive scalar index) of the GPT-2 pattern match starting at `start`.
    /// The pattern matches every character, so a match always starts where the previous ended.
    func gpt2MatchEnd(from start: Int) -> Int {
        let n = count
        // 's 't 're 've 'm 'll 'd (case-sensitive, ASCII apostrophe only).
        if ascii[start] == UInt8(ascii: "'"), start + 1 < n {
            switch ascii[start + 1] {
            case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
                return start + 2
            case UInt8(ascii: "r"), UInt8(ascii: "v"):
                if start + 2 < n, ascii[start + 2] == UInt8(ascii: "e") { return start + 3 }
            case UInt8(ascii: "l"):
                if start + 2 < n, ascii[start + 2] == UInt8(ascii: "l") { return start + 3 }
            default:
                break
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional U+0020 then a run of one class.
        let body = (ascii[start] == 0x20 && start + 1 < n) ? start + 1 : start
        let bodyClass = classes[body]
        if bodyClass != .whitespace {
            var end = body + 1
            while end < n && classes[end] == bodyClass { end += 1 }
            return end
        }
        // Here scalar `start` is whitespace and is not a space followed by a non-space word.
        // `\s+(?!\S)`: the whitespace run, minus its last character when a non-space follows
        // (that character then starts the next word); `\s+` when the run is a single character.
        var end = start + 1
        while end < n && classes[end] == .whitespace { end += 1 }
        if end < n && end - start >= 2 { return end - 1 }
        return end
    }
}
