/// Why a body could not be read as JSON, split the way FastAPI splits it.
public enum JSONParseFailure: Error, Equatable, Sendable {
    /// A syntax error as Python's `json.JSONDecodeError` reports it: the message without
    /// the "line/column" suffix, and the position in characters (code points) of the
    /// decoded text. FastAPI answers 422 `json_invalid` with `loc: ["body", position]`.
    case syntax(message: String, position: Int)
    /// Not valid UTF-8, or nested deeper than the parser allows. FastAPI answers these
    /// with 400 "There was an error parsing the body" (a `UnicodeDecodeError` or a
    /// `RecursionError` is not a `JSONDecodeError`).
    case unreadable(reason: String)
    /// The document holds more values (scalars and containers, at any depth) than the
    /// parser's `maxValues`. `count` is the document's full count: the rest was scanned
    /// (syntax still checked) but not stored, so refusing costs no more memory than the limit.
    case tooManyValues(count: Int, limit: Int)
}

/// A JSON parser that accepts exactly what Python's `json.loads` accepts (including
/// `NaN`, `Infinity`, `-Infinity`, a leading UTF-8 BOM on bytes input) and reports the
/// same message and position for malformed input, so 422 bodies match the old service.
public struct JSONParser: Sendable {
    /// Containers nested deeper than this are refused (Python stops near 1000 with a
    /// `RecursionError`); keeps recursion bounded on any thread stack.
    public var maxDepth: Int
    /// Values (at any depth) stored before the parser stops building the tree and only
    /// counts. A parsed value costs ~24 bytes plus its payload, so a 64 MB body of `[0,0,…]`
    /// (32 M values) would otherwise cost ~1 GB before any route could look at a count.
    public var maxValues: Int

    public init(maxDepth: Int = 500, maxValues: Int = .max) {
        self.maxDepth = maxDepth
        self.maxValues = max(1, maxValues)
    }

    public func parse(_ bytes: some Collection<UInt8>) throws(JSONParseFailure) -> JSONValue {
        let contiguous = Array(bytes)
        var result: Result<JSONValue, JSONParseFailure> = .failure(.unreadable(reason: "empty"))
        contiguous.withUnsafeBufferPointer { buffer in
            var input = UnsafeBufferPointer(rebasing: buffer[...])
            // Python decodes bytes with "utf-8-sig" when they start with a BOM.
            if input.count >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF {
                input = UnsafeBufferPointer(rebasing: input[3...])
            }
            guard UTF8Validation.isValid(input) else {
                result = .failure(.unreadable(reason: "body is not valid UTF-8"))
                return
            }
            var scanner = JSONScanner(input: input, maxDepth: maxDepth, maxValues: maxValues)
            do throws(JSONScanner.Failure) {
                let value = try scanner.document()
                result = scanner.values > maxValues ? .failure(.tooManyValues(count: scanner.values, limit: maxValues)) : .success(value)
            } catch {
                switch error {
                case .syntax(let message, let byteOffset):
                    result = .failure(.syntax(message: message, position: UTF8Validation.codePointCount(input, upTo: byteOffset)))
                case .tooDeep:
                    result = .failure(.unreadable(reason: "JSON nested deeper than \(maxDepth) levels"))
                }
            }
        }
        return try result.get()
    }
}

enum UTF8Validation {
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // Fast path: pure ASCII.
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                index += 1
                continue
            }
            let length: Int
            let minimum: UInt32
            var scalar: UInt32
            switch byte {
            case 0xC2...0xDF:
                length = 2
                minimum = 0x80
                scalar = UInt32(byte & 0x1F)
            case 0xE0...0xEF:
                length = 3
                minimum = 0x800
                scalar = UInt32(byte & 0x0F)
            case 0xF0...0xF4:
                length = 4
                minimum = 0x10000
                scalar = UInt32(byte & 0x07)
            default: return false
            }
            guard index + length <= count else { return false }
            for offset in 1..<length {
                let continuation = bytes[index + offset]
                guard continuation & 0xC0 == 0x80 else { return false }
                scalar = (scalar << 6) | UInt32(continuation & 0x3F)
            }
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return false }
            index += length
        }
        return true
    }

    /// Code points before `offset` in valid UTF-8 (continuation bytes do not count).
    static func codePointCount(_ bytes: UnsafeBufferPointer<UInt8>, upTo offset: Int) -> Int {
        var count = 0
        for index in 0..<min(offset, bytes.count) where bytes[index] & 0xC0 != 0x80 {
            count += 1
        }
        return count + max(0, offset - bytes.count)
    }
}

/// Recursive descent over validated UTF-8; offsets are byte offsets until reported.
struct JSONScanner {
    enum Failure: Error {
        case syntax(String, Int)
        case tooDeep
    }

    let input: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    let maxValues: Int
    var depth = 0
    /// Values seen so far; past `maxValues` nothing more is stored (`storing` is false).
    private(set) var values = 0
    private var storing: Bool { values <= maxValues }

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int, maxValues: Int = .max) {
        self.input = input
        self.maxDepth = maxDepth
        self.maxValues = maxValues
    }

    mutating func document() throws(Failure) -> JSONValue {
        let start = skipWhitespace(0)
        let (value, end) = try value(at: start)
        let rest = skipWhitespace(end)
        if rest != input.count { throw .syntax("Extra data", rest) }
        return value
    }

    private func skipWhitespace(_ index: Int) -> Int {
        var index = index
        while index < input.count {
            switch input[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return index
            }
        }
        return index
    }

    private func matches(_ literal: StaticString, at index: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= input.count else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<count where input[index + offset] != pointer[offset] {
            return false
        }
        return true
    }

    private mutating func value(at index: Int) throws(Failure) -> (JSONValue, Int) {
        guard index < input.count else { throw .syntax("Expecting value", index) }
        values += 1
        switch input[index] {
        case UInt8(ascii: "\""):
            let (text, end) = try string(quoteAt: index, keep: storing)
            return (.string(text), end)
        case UInt8(ascii: "{"):
            return try object(braceAt: index)
        case UInt8(ascii: "["):
            return try array(bracketAt: index)
        case UInt8(ascii: "n") where matches("null", at: index):
            return (.null, index + 4)
        case UInt8(ascii: "t") where matches("true", at: index):
            return (.bool(true), index + 4)
        case UInt8(ascii: "f") where matches("false", at: index):
            return (.bool(false), index + 5)
        case UInt8(ascii: "N") where matches("NaN", at: index):
            return (.double(.nan), index + 3)
        case UInt8(ascii: "I") where matches("Infinity", at: index):
            return (.double(.infinity), index + 8)
        case UInt8(ascii: "-") where matches("-Infinity", at: index):
            return (.double(-.infinity), index + 9)
        default:
            if let number = number(at: index) { return number }
            throw .syntax("Expecting value", index)
        }
    }

    private func isDigit(_ index: Int) -> Bool {
        index < input.count && input[index] >= UInt8(ascii: "0") && input[index] <= UInt8(ascii: "9")
    }

    /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, backing off a dangling `.` or exponent.
    private func number(at start: Int) -> (JSONValue, Int)? {
        var index = start
        if index < input.count && input[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { return nil }
        if input[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        var isInteger = true
        if index < input.count && input[index] == UInt8(ascii: ".") && isDigit(index + 1) {
            isInteger = false
            index += 1
            while isDigit(index) { index += 1 }
        }
        if index < input.count && (input[index] == UInt8(ascii: "e") || input[index] == UInt8(ascii: "E")) {
            var exponent = index + 1
            if exponent < input.count && (input[exponent] == UInt8(ascii: "+") || input[exponent] == UInt8(ascii: "-")) {
                exponent += 1
            }
            if isDigit(exponent) {
                isInteger = false
                index = exponent
                while isDigit(index) { index += 1 }
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<index]), as: UTF8.self)
        if isInteger, let integer = Int(text) {
            return (.int(integer), index)
        }
        // Fractions, exponents and integers too large for Int (Python would keep an exact int).
        return (.double(Double(text) ?? .nan), index)
    }

    private mutating func enter(_ index: Int) throws(Failure) {
        depth += 1
        if depth > maxDepth { throw .tooDeep }
    }

    private mutating func object(braceAt start: Int) throws(Failure) -> (JSONValue, Int) {
        try enter(start)
        defer { depth -= 1 }
        var members: [(key: String, value: JSONValue)] = []
        var index = skipWhitespace(start + 1)
        if index < input.count && input[index] == UInt8(ascii: "}") {
            return (.object(JSONObject(members)), index + 1)
        }
        while true {
            guard index < input.count, input[index] == UInt8(ascii: "\"") else {
                throw .syntax("Expecting property name enclosed in double quotes", index)
            }
            let (key, afterKey) = try string(quoteAt: index, keep: storing)
            index = skipWhitespace(afterKey)
            guard index < input.count, input[index] == UInt8(ascii: ":") else {
                throw .syntax("Expecting ':' delimiter", index)
            }
            index = skipWhitespace(index + 1)
            let (member, afterValue) = try value(at: index)
            if storing { members.append((key: key, value: member)) }
            index = skipWhitespace(afterValue)
            if index < input.count && input[index] == UInt8(ascii: "}") {
                return (.object(JSONObject(members)), index + 1)
            }
            guard index < input.count, input[index] == UInt8(ascii: ",") else {
                throw .syntax("Expecting ',' delimiter", index)
            }
            index = skipWhitespace(index + 1)
        }
    }

    private mutating func array(bracketAt start: Int) throws(Failure) -> (JSONValue, Int) {
        try enter(start)
        defer { depth -= 1 }
        var items: [JSONValue] = []
        var index = skipWhitespace(start + 1)
        if index < input.count && input[index] == UInt8(ascii: "]") {
            return (.array(items), index + 1)
        }
        while true {
            let (item, afterValue) = try value(at: index)
            if storing { items.append(item) }
            index = skipWhitespace(afterValue)
            if index < input.count && input[index] == UInt8(ascii: "]") {
                return (.array(items), index + 1)
            }
            guard index < input.count, input[index] == UInt8(ascii: ",") else {
                throw .syntax("Expecting ',' delimiter", index)
            }
            index = skipWhitespace(index + 1)
        }
    }

    private func hexValue(_ index: Int) -> UInt32? {
        let byte = input[index]
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private func hex4(_ index: Int) -> UInt32? {
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = hexValue(index + offset) else { return nil }
            value = value << 4 | digit
        }
        return value
    }

    /// A string whose opening quote is at `quote`; returns the index after the closing quote.
    /// With `keep` false the text is checked but not built (an empty string is returned).
    private func string(quoteAt quote: Int, keep: Bool = true) throws(Failure) -> (String, Int) {
        var index = quote + 1
        var runStart = index
        var decoded: [UInt8] = []
        var escaped = false
        while true {
            guard index < input.count else { throw .syntax("Unterminated string starting at", quote) }
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                if !keep { return ("", index + 1) }
                if !escaped {
                    return (String(decoding: UnsafeBufferPointer(rebasing: input[runStart..<index]), as: UTF8.self), index + 1)
                }
                decoded.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<index]))
                return (String(decoding: decoded, as: UTF8.self), index + 1)
            }
            if byte < 0x20 { throw .syntax("Invalid control character at", index) }
            if byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            escaped = true
            decoded.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<index]))
            let escapeAt = index + 1
            guard escapeAt < input.count else { throw .syntax("Unterminated string starting at", quote) }
            let code = input[escapeAt]
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(code)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                // Python wants at least one more character after the four digits.
                let digitsAt = escapeAt + 1
                guard digitsAt + 4 < input.count, var scalar = hex4(digitsAt) else {
                    throw .syntax("Invalid \\uXXXX escape", escapeAt)
                }
                var next = digitsAt + 4
                if (0xD800...0xDBFF).contains(scalar), next + 6 < input.count,
                    input[next] == UInt8(ascii: "\\"), input[next + 1] == UInt8(ascii: "u")
                {
                    guard let low = hex4(next + 2) else { throw .syntax("Invalid \\uXXXX escape", next + 1) }
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        next += 6
                    }
                }
                // Lone surrogates (Python keeps them) cannot live in a Swift String.
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                decoded.append(contentsOf: Array(String(character).utf8))
                index = next
                runStart = index
                continue
            default:
                throw .syntax("Invalid \\escape", index)
            }
            index = escapeAt + 1
            runStart = index
        }
    }
}
