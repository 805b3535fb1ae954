/// GPT-2's reversible byte-to-character mapping used by byte-level BPE.
///
/// Every byte gets a printable Unicode character so that vocabulary entries are plain
/// strings: printable Latin-1 bytes (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) map to themselves, the
/// remaining 68 bytes map, in byte order, to U+0100 onwards (so a space becomes `Ġ`).
/// The BPE model works on raw bytes; this table only converts vocabulary strings.
struct ByteLevelAlphabet: Sendable {
    /// Character for each byte value.
    let characterForByte: [Unicode.Scalar]
    /// Byte for each character of the alphabet.
    let byteForCharacter: [Unicode.Scalar: UInt8]

    init() {
        func printable(_ byte: Int) -> Bool {
            (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
        }
        var characters: [Unicode.Scalar] = []
        characters.reserveCapacity(256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if printable(byte) {
                characters.append(Unicode.Scalar(UInt8(byte)))
            } else {
                // U+0100...U+0143 are all valid scalars.
                characters.append(Unicode.Scalar(next) ?? "?")
                next += 1
            }
        }
        characterForByte = characters
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (byte, character) in characters.enumerated() { inverse[character] = UInt8(byte) }
        byteForCharacter = inverse
    }

    /// The raw bytes a vocabulary string stands for, or nil if it uses characters outside
    /// the alphabet (such a token can never be produced by byte-level BPE).
    func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byteForCharacter[scalar] else { return nil }
            out.append(byte)
        }
        return out
    }

    /// The vocabulary string for raw bytes.
    func string(of bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(characterForByte[Int(byte)]) }
        return String(scalars)
    }
}
