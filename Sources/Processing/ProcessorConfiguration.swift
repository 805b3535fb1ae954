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
    /// and `config.json` (`text_config.max_position_embeddings`), each only if present.
    public init(directory: URL) throws {
        self.init()
        if let processor = try Self.object(directory.appendingPathComponent("processor_config.json")) {
            if let value = processor["image_seq_len"] {
                guard let length = value as? Int, length > 0 else {
                    throw ProcessingError.invalidConfiguration(
                        file: "processor_config.json", reason: "image_seq_len must be a positive integer")
                }
                imageSeqLen = length
            }
            // The reference treats an empty or null prefix as "use the default".
            if let prefix = processor["visual_prompt_prefix"] as? String, !prefix.isEmpty {
                visualPromptPrefix = prefix
            }
            if let prefix = processor["query_prefix"] as? String {
                queryPrefix = prefix
            }
        }
        if let config = try Self.object(directory.appendingPathComponent("config.json")) {
            let text = config["text_config"] as? [String: Any] ?? config
            if let limit = text["max_position_embeddings"] as? Int, limit > 0 {
                maxSequenceLength = limit
            }
        }
    }

    private static func object(_ url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let name = url.lastPathComponent
        do {
            let data = try Data(contentsOf: url)
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ProcessingError.invalidConfiguration(file: name, reason: "top level is not an object")
            }
            return object
        } catch let error as ProcessingError {
            throw error
        } catch {
            throw ProcessingError.invalidConfiguration(file: name, reason: error.localizedDescription)
        }
    }
}
