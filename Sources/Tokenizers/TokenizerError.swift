/// Everything that can go wrong while loading a tokenizer or encoding text.
///
/// Loading errors name the unsupported component so that a checkpoint with a tokenizer
/// this module does not implement fails loudly at startup instead of producing wrong ids.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The JSON is malformed or a required field is missing or has the wrong type.
    case invalidJSON(file: String, reason: String)
    /// A pipeline component (normalizer, pre-tokenizer, model, post-processor) of a type or with
    /// an option this implementation does not support.
    case unsupported(component: String, detail: String)
    /// A token named by the configuration (pad token, template special token...) has no id.
    case unknownToken(String)
    /// An id passed to `decode` is neither in the vocabulary nor an added token.
    case unknownTokenID(Int)
    /// An encoded sequence is longer than the model accepts.
    case sequenceTooLong(length: Int, limit: Int)
    /// Padding was requested but the tokenizer configuration names no pad token.
    case missingPadToken

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case .invalidJSON(let file, let reason):
            return "invalid \(file): \(reason)"
        case .unsupported(let component, let detail):
            return "unsupported tokenizer \(component): \(detail)"
        case .unknownToken(let token):
            return "token \(token) is not in the vocabulary"
        case .unknownTokenID(let id):
            return "token id \(id) is not in the vocabulary"
        case .sequenceTooLong(let length, let limit):
            return "input is \(length) tokens long, more than the model's limit of \(limit) tokens"
        case .missingPadToken:
            return "the tokenizer configuration has no pad token, so a batch cannot be padded"
        }
    }
}
