import Foundation

/// Rewrites text before the pre-tokenizer (and before normalized added tokens are matched).
protocol Normalizer: Sendable {
    func normalize(_ text: String) -> String
}

/// Unicode normalization forms, the only normalizers byte-level BPE tokenizers use.
struct UnicodeNormalizer: Normalizer {
    enum Form: String, Sendable {
        case nfc = "NFC"
        case nfd = "NFD"
        case nfkc = "NFKC"
        case nfkd = "NFKD"
    }

    let form: Form

    func normalize(_ text: String) -> String {
        switch form {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        }
    }
}

/// Several normalizers applied in order (`"type": "Sequence"`).
struct NormalizerSequence: Normalizer {
    let normalizers: [any Normalizer]

    func normalize(_ text: String) -> String {
        normalizers.reduce(text) { $1.normalize($0) }
    }
}
