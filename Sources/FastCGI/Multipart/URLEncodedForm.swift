/// `application/x-www-form-urlencoded` (WHATWG URL standard): `&`-separated
/// `name=value` pairs, `+` is a space, `%XX` bytes, decoded as UTF-8.
public enum URLEncodedForm {
    /// Pairs in order; an invalid `%` escape is kept literally (the WHATWG parser does).
    public static func pairs(_ text: Substring) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for piece in text.split(separator: "&", omittingEmptySubsequences: true) {
            let halves = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decodeLenient(halves[0])
            let value = halves.count > 1 ? decodeLenient(halves[1]) : ""
            result.append((name: name, value: value))
        }
        return result
    }

    static func decodeLenient(_ text: Substring) -> String {
        var output: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = PercentDecoding.hexValue(bytes[index + 1]), let low = PercentDecoding.hexValue(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
                continue
            }
            output.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
