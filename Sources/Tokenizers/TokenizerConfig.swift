import Foundation

/// The parts of transformers' `tokenizer_config.json` that change ids: the pad token and the
/// side padding goes on, the length limit, and added tokens declared only there.
public struct TokenizerConfig: Sendable, Equatable {
    /// Which end of a shorter sequence receives padding in a batch.
    public enum PaddingSide: String, Sendable {
        case left, right
    }

    public var padToken: String?
    public var paddingSide: PaddingSide
    /// `model_max_length`, when it is a real limit (transformers writes ~1e30 for "none").
    public var modelMaxLength: Int?
    /// Tokens from `added_tokens_decoder` (transformers adds those missing from tokenizer.json).
    public var addedTokens: [AddedToken]

    public init(
        padToken: String? = nil, paddingSide: PaddingSide = .right, modelMaxLength: Int? = nil,
        addedTokens: [AddedToken] = []
    ) {
        self.padToken = padToken
        self.paddingSide = paddingSide
        self.modelMaxLength = modelMaxLength
        self.addedTokens = addedTokens
    }

    /// Parses `tokenizer_config.json`. Missing keys take transformers' defaults
    /// (no pad token, right padding, no length limit).
    public init(json data: Data) throws {
        let root = try JSONObject(data: data, file: "tokenizer_config.json")
        self.init()
        padToken = Self.tokenContent(root.values["pad_token"])
        if let side = try root.optionalString("padding_side") {
            guard let parsed = PaddingSide(rawValue: side) else {
                throw TokenizerError.invalidJSON(file: "tokenizer_config.json", reason: "padding_side: \(side) is neither left nor right")
            }
            paddingSide = parsed
        }
        if let limit = root.values["model_max_length"] as? Int, limit >= 1, limit < 1 << 40 {
            modelMaxLength = limit
        } else if let limit = root.values["model_max_length"] as? Double, limit >= 1, limit < 1e12 {
            modelMaxLength = Int(limit)
        }
        if let decoder = try root.optionalObject("added_tokens_decoder") {
            addedTokens = try decoder.values.keys.sorted().map { key in
                guard let id = Int(key) else {
                    throw TokenizerError.invalidJSON(file: "tokenizer_config.json", reason: "added_tokens_decoder key \(key) is not an id")
                }
                let entry = try decoder.object(key)
                return AddedToken(
                    id: id, content: try entry.string("content"),
                    singleWord: try entry.bool("single_word", default: false),
                    lstrip: try entry.bool("lstrip", default: false),
                    rstrip: try entry.bool("rstrip", default: false),
                    normalized: try entry.bool("normalized", default: true),
                    special: try entry.bool("special", default: false))
            }
        }
    }

    /// A token given either as a string or as a serialized AddedToken object.
    private static func tokenContent(_ value: Any?) -> String? {
        if let string = value as? String { return string }
        if let object = value as? [String: Any] { return object["content"] as? String }
        return nil
    }
}
