import Foundation
import Imaging
import Tokenizers

/// Builds model inputs the way the reference `ColModernVBertProcessor` does:
///
/// - query: `query_prefix + text + "<end_of_utterance>" x 10`, tokenized with the template
///   (`[CLS] ... [SEP]`), batches padded to the longest on the tokenizer's padding side;
/// - image: the visual prompt with `<image>` replaced by the Idefics3 tile expansion for the
///   image's tile grid, tokenized with the template.
///
/// Image pixels are not handled here (`ImagePreprocessor` adds them); only the tile layout's rows
/// and columns matter for the ids.
public struct Processor: Sendable {
    public let tokenizer: Tokenizer
    public let configuration: ProcessorConfiguration
    /// Id of `<image>`, the placeholder the vision features replace.
    public let imageTokenID: Int

    static let imageToken = "<image>"
    static let fakeImageToken = "<fake_token_around_image>"
    static let globalImageToken = "<global-img>"
    static let endOfUtterance = "<end_of_utterance>"

    public init(tokenizer: Tokenizer, configuration: ProcessorConfiguration) throws {
        for token in [Self.imageToken, Self.fakeImageToken, Self.globalImageToken, Self.endOfUtterance]
        where tokenizer.tokenID(token) == nil {
            throw ProcessingError.missingToken(token)
        }
        guard let imageTokenID = tokenizer.tokenID(Self.imageToken) else {
            throw ProcessingError.missingToken(Self.imageToken)
        }
        guard ByteSearch.occurrences(of: Self.imageToken, in: configuration.visualPromptPrefix).count == 1 else {
            throw ProcessingError.invalidConfiguration(
                file: "processor_config.json", reason: "visual_prompt_prefix must contain \(Self.imageToken) exactly once")
        }
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.imageTokenID = imageTokenID
    }

    /// Loads the tokenizer and prompt settings of a checkpoint directory (published layout).
    /// Without a `config.json` limit, the tokenizer's `model_max_length` bounds sequences.
    public init(checkpointDirectory: URL) throws {
        let tokenizer = try Tokenizer(directory: checkpointDirectory)
        var configuration = try ProcessorConfiguration(directory: checkpointDirectory)
        if configuration.maxSequenceLength == nil {
            configuration.maxSequenceLength = tokenizer.config.modelMaxLength
        }
        try self.init(tokenizer: tokenizer, configuration: configuration)
    }

    // MARK: - Queries

    /// The text the reference tokenizes for a query.
    public func queryText(_ query: String) -> String {
        configuration.queryPrefix + query
            + String(repeating: Self.endOfUtterance, count: configuration.queryAugmentationCount)
    }

    /// Ids of one query (`[CLS]`, tokens, ten `<end_of_utterance>`, `[SEP]`).
    public func queryIDs(_ query: String) throws -> [Int] {
        try queries([query]).inputIDs[0]
    }

    /// A batch of queries, padded to the longest; `lengths` gives each query's own length
    /// (so callers can drop the padding rows of the output).
    public func queries(_ texts: [String]) throws -> PaddedBatch {
        guard !texts.isEmpty else { throw ProcessingError.noInputs }
        for (index, text) in texts.enumerated() where !ByteSearch.occurrences(of: Self.imageToken, in: text).isEmpty {
            throw ProcessingError.imageTokenInQuery(index: index)
        }
        return try tokenizer.encodeBatch(texts.map(queryText), maxLength: configuration.maxSequenceLength)
    }

    // MARK: - Images

    /// The Idefics3 expansion of `<image>` for a tile layout: per tile
    /// `<fake_token_around_image><row_R_col_C>` + `<image>` x image_seq_len, a newline after each
    /// row of tiles, then `\n<fake_token_around_image><global-img>` + `<image>` x image_seq_len +
    /// `<fake_token_around_image>`. An unsplit image has the global part only, without the
    /// leading newline.
    public func imageExpansion(_ layout: TileLayout) -> String {
        let images = String(repeating: Self.imageToken, count: configuration.imageSeqLen)
        let global = Self.fakeImageToken + Self.globalImageToken + images + Self.fakeImageToken
        guard layout.isSplit else { return global }
        var text = ""
        for row in 1...layout.rows {
            for col in 1...layout.cols {
                text += Self.fakeImageToken + "<row_\(row)_col_\(col)>" + images
            }
            text += "\n"
        }
        return text + "\n" + global
    }

    /// The full image prompt text for a tile layout (the visual prompt with `<image>` expanded).
    public func imagePromptText(_ layout: TileLayout) -> String {
        ByteSearch.replacingFirst(Self.imageToken, in: configuration.visualPromptPrefix, with: imageExpansion(layout))
    }

    /// Ids of an image prompt and the positions of its `<image>` tokens. Throws
    /// `ProcessingError.invalidGrid` for a layout with negative counts, rows without columns (or
    /// the reverse) or no tile size, and `TokenizerError.sequenceTooLong` past the model's limit.
    public func imagePrompt(_ layout: TileLayout) throws -> ImagePrompt {
        guard layout.isValid else { throw ProcessingError.invalidGrid(rows: layout.rows, cols: layout.cols) }
        let ids = tokenizer.encode(imagePromptText(layout))
        if let limit = configuration.maxSequenceLength, ids.count > limit {
            throw TokenizerError.sequenceTooLong(length: ids.count, limit: limit)
        }
        let positions = ids.indices.filter { ids[$0] == imageTokenID }
        return ImagePrompt(layout: layout, inputIDs: ids, imageTokenPositions: positions, imageSeqLen: configuration.imageSeqLen)
    }
}

/// Byte-level substring search (Python `str` semantics), unlike `String`'s grapheme-aware
/// search, which misses `<image>` when a combining mark follows it.
enum ByteSearch {
    /// Start offsets of the non-overlapping occurrences of `pattern` in `text`.
    static func occurrences(of pattern: String, in text: String) -> [Int] {
        let needle = Array(pattern.utf8)
        let haystack = Array(text.utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return [] }
        var found: [Int] = []
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) {
                found.append(index)
                index += needle.count
            } else {
                index += 1
            }
        }
        return found
    }

    /// `text` with its first occurrence of `pattern` replaced.
    static func replacingFirst(_ pattern: String, in text: String, with replacement: String) -> String {
        guard let start = occurrences(of: pattern, in: text).first else { return text }
        let bytes = Array(text.utf8)
        let end = start + pattern.utf8.count
        return String(decoding: bytes[..<start] + Array(replacement.utf8) + bytes[end...], as: UTF8.self)
    }
}
