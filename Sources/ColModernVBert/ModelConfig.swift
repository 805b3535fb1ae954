import Foundation

/// Settings of a ColModernVBert checkpoint, read from its config.json.
///
/// Accepts what transformers 5.x writes for `model_type: "modernvbert"` (text and vision
/// sub-configs at the top level), and `"colmodernvbert"` (the same nested under `vlm_config`, plus
/// `embedding_dim`). Absent optional fields take transformers' defaults.
public struct ModelConfig: Sendable, Equatable {
    public var text: TextConfig
    public var vision: VisionConfig
    /// Id of the `<image>` placeholder token whose embeddings image features replace.
    public var imageTokenId = 50407
    /// Pixel shuffle factor of the connector (patch grid side shrinks by this much).
    public var pixelShuffleFactor = 4
    /// `embedding_dim` when the config states it; the checkpoint's projection decides otherwise.
    public var embeddingDim: Int?

    /// `<image>` tokens per tile: (patches per side / shuffle factor)².
    public var imageSeqLen: Int {
        let side = vision.patchesPerSide / pixelShuffleFactor
        return side * side
    }

    public init(text: TextConfig = TextConfig(), vision: VisionConfig = VisionConfig()) {
        self.text = text
        self.vision = vision
    }

    /// Reads `config.json` from a model folder.
    public static func load(directory: URL) throws -> ModelConfig {
        let url = directory.appendingPathComponent("config.json")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ColModernVBertError.unreadableConfig(path: url.path, reason: error.localizedDescription)
        }
        return try parse(data, path: url.path)
    }

    public static func parse(_ data: Data, path: String = "config.json") throws -> ModelConfig {
        try ModelConfig(json: ConfigJSON(data: data, path: path))
    }

    init(json root: ConfigJSON) throws {
        let modelType = try root.optionalString("model_type")
        var json = root
        switch modelType {
        case "modernvbert":
            break
        case "colmodernvbert":
            guard let vlm = try root.object("vlm_config") else {
                throw ColModernVBertError.invalidConfig(field: "vlm_config", reason: "missing for model_type colmodernvbert")
            }
            if let inner = try vlm.optionalString("model_type"), inner != "modernvbert" {
                throw ColModernVBertError.unsupportedModelType(field: vlm.field("model_type"), found: inner, expected: ["modernvbert"])
            }
            json = vlm
        default:
            throw ColModernVBertError.unsupportedModelType(
                field: "model_type", found: modelType ?? "(absent)", expected: ["modernvbert", "colmodernvbert"])
        }
        let textJSON = try json.object("text_config") ?? ConfigJSON(path: json.field("text_config"), values: [:])
        let visionJSON = try json.object("vision_config") ?? ConfigJSON(path: json.field("vision_config"), values: [:])
        self.init(text: try TextConfig(json: textJSON), vision: try VisionConfig(json: visionJSON))
        imageTokenId = try json.int("image_token_id", default: imageTokenId)
        // colpali-engine configs count the added tokens (kept in a second table) separately.
        let additional = try json.int("additional_vocab_size", default: 0)
        guard additional >= 0 else {
            throw ColModernVBertError.invalidConfig(field: json.field("additional_vocab_size"), reason: "must not be negative")
        }
        text.vocabSize += additional
        // Older colpali-engine configs call the shuffle factor `scale_factor`.
        pixelShuffleFactor =
            try json.optionalInt("pixel_shuffle_factor")
            ?? json.int("scale_factor", default: pixelShuffleFactor)
        if modelType == "colmodernvbert" {
            embeddingDim = try root.int("embedding_dim", default: 128)
        } else {
            embeddingDim = try json.optionalInt("embedding_dim")
        }
        try validate(json)
    }

    private func validate(_ json: ConfigJSON) throws {
        guard imageTokenId >= 0, imageTokenId < text.vocabSize else {
            throw ColModernVBertError.invalidConfig(
                field: json.field("image_token_id"), reason: "\(imageTokenId) is outside the vocabulary of \(text.vocabSize)")
        }
        let side = vision.patchesPerSide
        guard pixelShuffleFactor > 0, side % pixelShuffleFactor == 0 else {
            throw ColModernVBertError.invalidConfig(
                field: json.field("pixel_shuffle_factor"),
                reason: "\(pixelShuffleFactor) does not divide the \(side)x\(side) patch grid")
        }
        if let embeddingDim, embeddingDim <= 0 {
            throw ColModernVBertError.invalidConfig(field: "embedding_dim", reason: "must be positive")
        }
    }
}
