import Foundation

/// A Hugging Face byte-level BPE tokenizer (`tokenizer.json` + `tokenizer_config.json`),
/// producing the same ids as the `tokenizers` library.
///
/// Pipeline per text: added tokens that are not `normalized` are cut out of the raw text;
/// each remaining piece is normalized (if the file has a normalizer) and `normalized` added
/// tokens are cut out of it; what is left is pre-tokenized (GPT-2 split) and BPE-encoded;
/// finally the post-processor adds `[CLS]`/`[SEP]`.
///
/// Immutable after loading and safe to share between threads (the word cache is locked).
public struct Tokenizer: Sendable {
    public let config: TokenizerConfig
    private let definition: TokenizerDefinition
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    /// Every token string (model vocabulary and added tokens) -> id.
    private let idsByToken: [String: Int]
    /// id -> added token, for decoding.
    private let addedByID: [Int: AddedToken]
    /// id -> raw bytes of model tokens, for decoding.
    private let bytesByID: [Int: [UInt8]]

    /// Loads `tokenizer.json` and, if present, `tokenizer_config.json` from a directory.
    public init(directory: URL) throws {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let tokenizerData = try Self.read(tokenizerURL)
        let configData = FileManager.default.fileExists(atPath: configURL.path) ? try Self.read(configURL) : nil
        try self.init(tokenizerJSON: tokenizerData, configJSON: configData)
    }

    /// Builds a tokenizer from the contents of `tokenizer.json` and `tokenizer_config.json`.
    public init(tokenizerJSON: Data, configJSON: Data? = nil) throws {
        let definition = try TokenizerDefinition(json: tokenizerJSON)
        let config = try configJSON.map(TokenizerConfig.init(json:)) ?? TokenizerConfig()
        self.definition = definition
        self.config = config

        // Added tokens: tokenizer.json's, plus tokenizer_config.json's that it lacks.
        var added = definition.addedTokens
        let known = Set(added.map(\.content))
        added += config.addedTokens.filter { !known.contains($0.content) }

        rawMatcher = AddedTokenMatcher(added.filter { !$0.normalized }.map { ($0, $0.content) })
        let normalizer = definition.normalizer
        normalizedMatcher = AddedTokenMatcher(
            added.filter(\.normalized).map { token in
                (token, normalizer?.normalize(token.content) ?? token.content)
            })

        var idsByToken = definition.vocab
        var addedByID: [Int: AddedToken] = [:]
        for token in added {
            idsByToken[token.content] = token.id
            addedByID[token.id] = token
        }
        self.idsByToken = idsByToken
        self.addedByID = addedByID
        let alphabet = ByteLevelAlphabet()
        var bytesByID: [Int: [UInt8]] = [:]
        for (token, id) in definition.vocab {
            if let bytes = alphabet.bytes(of: token) { bytesByID[id] = bytes }
        }
        self.bytesByID = bytesByID
        if let pad = config.padToken, idsByToken[pad] == nil { throw TokenizerError.unknownToken(pad) }
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    // MARK: - Vocabulary

    /// The id of a token string (model vocabulary entry or added token).
    public func tokenID(_ token: String) -> Int? {
        idsByToken[token]
    }

    /// The added token with this id, if it is one.
    public func addedToken(id: Int) -> AddedToken? {
        addedByID[id]
    }

    /// The pad token's id, if the configuration names one.
    public var padTokenID: Int? {
        config.padToken.flatMap { idsByToken[$0] }
    }

    /// How many ids the post-processor adds around a sequence.
    public var specialTokenCount: Int {
        definition.postProcessor?.addedCount ?? 0
    }

    // MARK: - Encoding

    /// Token ids of `text`, with the template's special tokens when `addSpecialTokens`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        let bytes = Array(text.utf8)
        var ids: [Int] = []
        ids.reserveCapacity(bytes.count / 3 + 4)
        for piece in rawMatcher.split(bytes) {
            switch piece {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                encodeUnmatched(Array(bytes[range]), into: &ids)
            }
        }
        if addSpecialTokens, let postProcessor = definition.postProcessor {
            return postProcessor.process(ids)
        }
        return ids
    }

    /// Normalizes a piece free of raw added tokens, extracts normalized added tokens, and
    /// BPE-encodes the rest word by word.
    private func encodeUnmatched(_ piece: [UInt8], into ids: inout [Int]) {
        if piece.isEmpty { return }
        var text = piece
        if let normalizer = definition.normalizer {
            text = Array(normalizer.normalize(String(decoding: piece, as: UTF8.self)).utf8)
        }
        for inner in normalizedMatcher.split(text) {
            switch inner {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                if range.isEmpty { continue }
                definition.preTokenizer.split(Array(text[range])) { word in
                    definition.model.tokenize(word, into: &ids)
                }
            }
        }
    }

    /// Encodes several texts and pads them to the longest with the pad token on the
    /// configured side; `maxLength` (e.g. the text tower's `max_position_embeddings`) is
    /// checked on every sequence, special tokens included.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true, maxLength: Int? = nil) throws -> PaddedBatch {
        let sequences = try texts.map { text -> [Int] in
            let ids = encode(text, addSpecialTokens: addSpecialTokens)
            if let maxLength, ids.count > maxLength {
                throw TokenizerError.sequenceTooLong(length: ids.count, limit: maxLength)
            }
            return ids
        }
        return try PaddedBatch(sequences: sequences, padID: padTokenID, side: config.paddingSide)
    }

    // MARK: - Decoding

    /// The text of `ids` (byte-level decoding; invalid UTF-8 becomes U+FFFD). Special added
    /// tokens are dropped when `skipSpecialTokens`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if let added = addedByID[id] {
                if !(skipSpecialTokens && added.special) { bytes += Array(added.content.utf8) }
            } else if let tokenBytes = bytesByID[id] {
                bytes += tokenBytes
            } else {
                throw TokenizerError.unknownTokenID(id)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
