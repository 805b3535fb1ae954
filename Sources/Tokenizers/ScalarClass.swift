/// The character classes the GPT-2 split pattern distinguishes.
///
/// They mirror the regex classes exactly: `\p{L}` is general category L*, `\p{N}` is N*,
/// `\s` is the Unicode White_Space property (not Python's `str.isspace`, which also counts
/// U+001C...U+001F). The classes are disjoint, so every scalar is in exactly one.
enum ScalarClass: UInt8, Sendable {
    case letter
    case number
    case whitespace
    case other

    init(_ scalar: Unicode.Scalar) {
        if scalar.value < 128 {
            self = asciiClasses[Int(scalar.value)]
            return
        }
        let properties = scalar.properties
        if properties.isWhitespace {
            self = .whitespace
            return
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }
}

/// ASCII fast path (most text is ASCII; the property lookup is comparatively slow).
private let asciiClasses: [ScalarClass] = (0..<128).map { value in
    switch value {
    case 0x09...0x0D, 0x20: return .whitespace
    case 0x30...0x39: return .number
    case 0x41...0x5A, 0x61...0x7A: return .letter
    default: return .other
    }
}

/// Word characters in the sense of the Rust `regex` crate's Unicode `\w`
/// (Alphabetic, M*, Nd, Pc, Join_Control), which decides `single_word` added-token matches.
func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 128 {
        let v = scalar.value
        return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
    }
    let properties = scalar.properties
    if properties.isAlphabetic || properties.isJoinControl { return true }
    switch properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
        return true
    default:
        return false
    }
}
