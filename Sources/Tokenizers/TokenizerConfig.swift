import CheckpointConfig
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

    /// Parses `tokenizer_config.json` (`TokenizerConfigFile`). Missing keys take transformers'
    /// defaults (no pad token, right padding, no length limit).
    public init(json data: Data) throws {
        let name = TokenizerConfigFile.fileName
        let file: TokenizerConfigFile
        do {
            file = try ConfigFile.decode(TokenizerConfigFile.self, from: data, file: name)
        } catch {
            throw TokenizerError.invalidJSON(file: name, reason: error.field.map { "\($0): \(error.reason)" } ?? error.reason)
        }
        try self.init(file: file)
    }

    /// The settings of a decoded `tokenizer_config.json`.
    public init(file: TokenizerConfigFile) throws {
        let name = TokenizerConfigFile.fileName
        self.init()
        padToken = file.padToken?.content
        if let side = file.paddingSide {
            guard let parsed = PaddingSide(rawValue: side) else {
                throw TokenizerError.invalidJSON(file: name, reason: "padding_side: \(side) is neither left nor right")
            }
            paddingSide = parsed
        }
        // transformers writes ~1e30 for "no limit".
        if let limit = file.modelMaxLength, limit >= 1, limit < 1e12 {
            modelMaxLength = Int(limit)
        }
        if let decoder = file.addedTokensDecoder {
            addedTokens = try decoder.keys.sorted().map { key in
                guard let id = Int(key), let entry = decoder[key] else {
                    throw TokenizerError.invalidJSON(file: name, reason: "added_tokens_decoder key \(key) is not an id")
                }
                return AddedToken(
                    id: id, content: entry.content, singleWord: entry.singleWord ?? false, lstrip: entry.lstrip ?? false,
                    rstrip: entry.rstrip ?? false, normalized: entry.normalized ?? true, special: entry.special ?? false)
            }
        }
    }
}
