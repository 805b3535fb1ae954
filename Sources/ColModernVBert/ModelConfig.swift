import CheckpointConfig
import Foundation

/// Settings of a ColModernVBert checkpoint, read from its config.json (`ModelConfigFile`).
///
/// Accepts every published shape (see `ModelConfigFile`): transformers 5's `modernvbert` (sub-configs
/// at the top level), `colmodernvbert` (the same nested under `vlm_config`, plus `embedding_dim`), and
/// colpali-engine's legacy `colmodernvbert` with its legacy keys. Absent fields take transformers'
/// defaults; a legacy key and its successor that disagree are an error naming both.
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

    /// Reads `config.json` from a model folder. A PEFT adapter folder is refused with the name of
    /// the merged repository to use instead.
    public static func load(directory: URL) throws -> ModelConfig {
        try AdapterCheckpoint.refuse(directory: directory)
        let url = directory.appendingPathComponent(ModelConfigFile.fileName)
        let file: ModelConfigFile?
        do {
            file = try ConfigFile.load(ModelConfigFile.self, named: ModelConfigFile.fileName, in: directory)
        } catch {
            throw ColModernVBertError(configFile: error, path: url.path)
        }
        guard let file else { throw ColModernVBertError.unreadableConfig(path: url.path, reason: "no such file") }
        return try ModelConfig(file: file)
    }

    public static func parse(_ data: Data, path: String = "config.json") throws -> ModelConfig {
        do {
            return try ModelConfig(file: ConfigFile.decode(ModelConfigFile.self, from: data, file: path))
        } catch let error as ConfigFileError {
            throw ColModernVBertError(configFile: error, path: path)
        }
    }

    static let vlmModelTypes = ["modernvbert", "vbert"]

    /// Interprets a decoded config.json.
    public init(file root: ModelConfigFile) throws {
        var fields = ConfigFields("")
        var model = root
        let nested: Bool
        switch root.modelType {
        case "modernvbert":
            nested = false
        case "colmodernvbert":
            guard let vlm = root.vlmConfig else {
                throw ColModernVBertError.invalidConfig(field: "vlm_config", reason: "missing for model_type colmodernvbert")
            }
            if let inner = vlm.modelType, !Self.vlmModelTypes.contains(inner) {
                throw ColModernVBertError.unsupportedModelType(field: "vlm_config.model_type", found: inner, expected: Self.vlmModelTypes)
            }
            model = vlm
            fields = ConfigFields("vlm_config")
            nested = true
        default:
            throw ColModernVBertError.unsupportedModelType(
                field: "model_type", found: root.modelType ?? "(absent)", expected: ["modernvbert", "colmodernvbert"])
        }
        let textFields = fields.child("text_config")
        var text = try TextConfig(file: model.textConfig ?? TextConfigFile(), fields: textFields, legacyNames: nested)
        let vision = try VisionConfig(
            file: model.visionConfig ?? VisionConfigFile(), fields: fields.child("vision_config"), legacyNames: nested)
        // colpali-engine repeats the text tower's sizes at the model level.
        text.hiddenSize =
            try ConfigFields.reconcile(
                model.textConfig?.hiddenSize, textFields.field("hidden_size"), legacy: model.hiddenSize, fields.field("hidden_size"))
            ?? text.hiddenSize
        text.maxPositionEmbeddings =
            try ConfigFields.reconcile(
                model.textConfig?.maxPositionEmbeddings, textFields.field("max_position_embeddings"),
                legacy: model.maxPositionEmbeddings, fields.field("max_position_embeddings"))
            ?? text.maxPositionEmbeddings
        text.vocabSize =
            try ConfigFields.reconcile(
                model.textConfig?.vocabSize, textFields.field("vocab_size"), legacy: model.vocabSize, fields.field("vocab_size"))
            ?? text.vocabSize
        // colpali-engine counts the added tokens (kept in a second table) separately.
        let additional = model.additionalVocabSize ?? 0
        try fields.require(additional >= 0, "additional_vocab_size", "must not be negative")
        text.vocabSize += additional
        self.init(text: text, vision: vision)
        imageTokenId = model.imageTokenId ?? imageTokenId
        pixelShuffleFactor =
            try ConfigFields.reconcile(
                model.pixelShuffleFactor, fields.field("pixel_shuffle_factor"), legacy: model.scaleFactor, fields.field("scale_factor"))
            ?? pixelShuffleFactor
        if nested {
            embeddingDim =
                try ConfigFields.reconcile(
                    root.embeddingDim, "embedding_dim", legacy: model.embeddingDim, fields.field("embedding_dim")) ?? 128
        } else {
            embeddingDim = root.embeddingDim
        }
        try text.validate(textFields)
        try validate(fields)
    }

    private func validate(_ fields: ConfigFields) throws {
        try fields.require(
            imageTokenId >= 0 && imageTokenId < text.vocabSize, "image_token_id",
            "\(imageTokenId) is outside the vocabulary of \(text.vocabSize)")
        let side = vision.patchesPerSide
        try fields.require(
            pixelShuffleFactor > 0 && side % pixelShuffleFactor == 0, "pixel_shuffle_factor",
            "\(pixelShuffleFactor) does not divide the \(side)x\(side) patch grid")
        if let embeddingDim, embeddingDim <= 0 {
            throw ColModernVBertError.invalidConfig(field: "embedding_dim", reason: "must be positive")
        }
    }
}
