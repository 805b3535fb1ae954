/// `tokenizer_config.json` (transformers): the keys that change ids, every one optional (absent or
/// null → nil).
public struct TokenizerConfigFile: Decodable, Equatable, Sendable {
    public static let fileName = "tokenizer_config.json"

    public var padToken: TokenField?
    public var paddingSide: String?
    /// A number: transformers writes ~1e30 for "no limit", more than an `Int` holds.
    public var modelMaxLength: Double?
    /// Added tokens by id (the keys are decimal ids, as transformers writes them).
    public var addedTokensDecoder: [String: AddedTokenEntry]?

    enum CodingKeys: String, CodingKey {
        case padToken = "pad_token"
        case paddingSide = "padding_side"
        case modelMaxLength = "model_max_length"
        case addedTokensDecoder = "added_tokens_decoder"
    }

    /// A special token: its text, or a serialized `AddedToken` object with a `content`.
    public struct TokenField: Decodable, Equatable, Sendable {
        public var content: String?

        private enum Keys: String, CodingKey { case content }

        public init(from decoder: Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                content = text
            } else {
                content = try decoder.container(keyedBy: Keys.self).decodeIfPresent(String.self, forKey: .content)
            }
        }
    }

    /// One entry of `added_tokens_decoder`.
    public struct AddedTokenEntry: Decodable, Equatable, Sendable {
        public var content: String
        public var singleWord: Bool?
        public var lstrip: Bool?
        public var rstrip: Bool?
        public var normalized: Bool?
        public var special: Bool?

        enum CodingKeys: String, CodingKey {
            case content
            case singleWord = "single_word"
            case lstrip, rstrip, normalized, special
        }
    }
}
