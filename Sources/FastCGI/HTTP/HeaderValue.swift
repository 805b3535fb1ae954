/// A header value of the form `token *( ";" name "=" (token | quoted-string) )`:
/// `Content-Type: multipart/form-data; boundary="a b"` or
/// `Content-Disposition: form-data; name="files"; filename*=UTF-8''%C3%A9.png`.
///
/// Parsing never fails: malformed pieces are skipped, because a header is client input.
/// Quoted strings are unescaped the way browsers and python-multipart agree on: `\"` and
/// `\\` lose their backslash, any other backslash is literal (HTML forms send Windows
/// paths and never escape other characters). Extended parameters (`name*=`, RFC 8187 /
/// RFC 5987: `charset'language'percent-encoded`) are decoded for UTF-8 and ISO-8859-1 and
/// kept under their name with the star.
public struct HeaderValue: Sendable, Equatable {
    /// The leading token, lower-cased (`multipart/form-data`, `form-data`).
    public var value: String
    /// Parameters in order, names lower-cased, values unquoted/decoded.
    public var parameters: [(name: String, value: String)]

    public init(value: String, parameters: [(name: String, value: String)] = []) {
        self.value = value
        self.parameters = parameters
    }

    /// The first parameter called `name` (case-insensitive).
    public func parameter(_ name: String) -> String? {
        let lowered = name.lowercased()
        return parameters.first { $0.name == lowered }?.value
    }

    public static func == (lhs: HeaderValue, rhs: HeaderValue) -> Bool {
        lhs.value == rhs.value && lhs.parameters.count == rhs.parameters.count
            && zip(lhs.parameters, rhs.parameters).allSatisfy { $0 == $1 }
    }

    public init(parsing text: String) {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func skipSpaces() {
            while index < scalars.count && (scalars[index] == " " || scalars[index] == "\t") { index += 1 }
        }
        // Leading token up to the first ';'.
        var head = String.UnicodeScalarView()
        while index < scalars.count && scalars[index] != ";" {
            head.append(scalars[index])
            index += 1
        }
        value = String(head).trimmingSpaces().lowercased()
        parameters = []
        while index < scalars.count {
            index += 1  // the ';'
            skipSpaces()
            var name = String.UnicodeScalarView()
            while index < scalars.count && scalars[index] != "=" && scalars[index] != ";" {
                name.append(scalars[index])
                index += 1
            }
            let parameterName = String(name).trimmingSpaces().lowercased()
            guard index < scalars.count, scalars[index] == "=" else { continue }  // no value: skip
            index += 1
            skipSpaces()
            var raw = String.UnicodeScalarView()
            let quoted = index < scalars.count && scalars[index] == "\""
            if quoted {
                index += 1
                while index < scalars.count && scalars[index] != "\"" {
                    if scalars[index] == "\\" && index + 1 < scalars.count
                        && (scalars[index + 1] == "\"" || scalars[index + 1] == "\\")
                    {
                        index += 1
                    }
                    raw.append(scalars[index])
                    index += 1
                }
                if index < scalars.count { index += 1 }  // closing quote
                // Anything between the closing quote and the next ';' is ignored.
                while index < scalars.count && scalars[index] != ";" { index += 1 }
            } else {
                while index < scalars.count && scalars[index] != ";" {
                    raw.append(scalars[index])
                    index += 1
                }
            }
            guard !parameterName.isEmpty else { continue }
            var parameterValue = String(raw)
            if !quoted { parameterValue = parameterValue.trimmingSpaces() }
            if parameterName.hasSuffix("*") {
                guard let decoded = Self.decodeExtendedValue(parameterValue) else { continue }
                parameterValue = decoded
            }
            parameters.append((name: parameterName, value: parameterValue))
        }
    }

    /// RFC 8187 `charset'language'value-chars`; `nil` when malformed or an unknown charset.
    static func decodeExtendedValue(_ text: String) -> String? {
        let pieces = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        let charset = pieces[0].lowercased()
        guard let bytes = PercentDecoding.decode(Substring(pieces[2]), plusAsSpace: false) else { return nil }
        switch charset {
        case "utf-8", "utf8":
            return String(validating: bytes, as: UTF8.self)
        case "iso-8859-1", "latin-1", "latin1":
            return String(decoding: bytes.map { UInt16($0) }, as: UTF16.self)
        default:
            return nil
        }
    }
}

/// `%XX` decoding shared by RFC 8187 values and `application/x-www-form-urlencoded`.
enum PercentDecoding {
    /// `nil` when a `%` is not followed by two hex digits.
    static func decode(_ text: Substring, plusAsSpace: Bool) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                output.append(high << 4 | low)
            } else if plusAsSpace && byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
            } else {
                output.append(byte)
            }
        }
        return output
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Header bytes to text: UTF-8 when valid (RFC 7578 lets filenames be raw UTF-8),
/// otherwise ISO-8859-1, which maps every byte (HTTP's historical header charset).
enum HeaderText {
    static func decode(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(decoding: bytes.map { UInt16($0) }, as: UTF16.self)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view.removeFirst() }
        while let last = view.last, last == " " || last == "\t" { view.removeLast() }
        return String(view)
    }
}
