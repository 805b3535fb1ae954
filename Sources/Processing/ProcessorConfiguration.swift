import CheckpointConfig
import Foundation

/// Prompt settings of a ColModernVBert checkpoint: what `processor_config.json` and the text
/// tower's `config.json` say, with the reference processor's defaults for anything missing.
public struct ProcessorConfiguration: Sendable, Equatable {
    /// The reference processor's image prompt; `<image>` is expanded to the tile tokens.
    public static let defaultVisualPromptPrefix =
        "<|begin_of_text|>User:<image>Describe the image.<end_of_utterance>\nAssistant:"

    /// `<image>` tokens per tile (64 for the published model; the reference default).
    public var imageSeqLen: Int
    /// Prompt wrapped around every image (must contain `<image>` once).
    public var visualPromptPrefix: String
    /// Text put before every query.
    public var queryPrefix: String
    /// How many `<end_of_utterance>` tokens are appended to a query (query augmentation).
    public var queryAugmentationCount: Int
    /// Longest sequence the text tower accepts (`max_position_embeddings`), if known.
    public var maxSequenceLength: Int?

    public init(
        imageSeqLen: Int = 64, visualPromptPrefix: String = defaultVisualPromptPrefix,
        queryPrefix: String = "", queryAugmentationCount: Int = 10, maxSequenceLength: Int? = nil
    ) {
        self.imageSeqLen = imageSeqLen
        self.visualPromptPrefix = visualPromptPrefix
        self.queryPrefix = queryPrefix
        self.queryAugmentationCount = queryAugmentationCount
        self.maxSequenceLength = maxSequenceLength
    }

    /// Reads a checkpoint directory: `processor_config.json` (image_seq_len,
    /// visual_prompt_prefix, query_prefix; all optional, as the reference's defaults apply)
    /// and `config.json` (the text tower's `max_position_embeddings`), each only if present.
    public init(directory: URL) throws {
        self.init()
        if let processor = try Self.read(ProcessorConfigFile.self, directory) {
            if let length = processor.imageSeqLen {
                guard length > 0 else {
                    throw ProcessingError.invalidConfiguration(
                        file: ProcessorConfigFile.fileName, reason: "image_seq_len must be a positive integer")
                }
                imageSeqLen = length
            }
            // The reference treats an empty or null prefix as "use the default".
            if let prefix = processor.visualPromptPrefix, !prefix.isEmpty {
                visualPromptPrefix = prefix
            }
            if let prefix = processor.queryPrefix {
                queryPrefix = prefix
            }
        }
        if let config = try Self.read(ModelConfigFile.self, directory), let limit = config.textMaxPositionEmbeddings, limit > 0 {
            maxSequenceLength = limit
        }
    }

    private static func read<T: Decodable & CheckpointFile>(_ type: T.Type, _ directory: URL) throws -> T? {
        do {
            return try ConfigFile.load(T.self, named: T.fileName, in: directory)
        } catch {
            throw ProcessingError.invalidConfiguration(
                file: T.fileName, reason: error.field.map { "\($0): \(error.reason)" } ?? error.reason)
        }
    }
}
