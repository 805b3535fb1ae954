import CheckpointConfig

/// SigLIP vision tower settings (`vision_config`, model_type "siglip_vision_model"), with
/// transformers' SiglipVisionConfig defaults for absent fields.
public struct VisionConfig: Sendable, Equatable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    /// Side of the square tiles the tower takes, in pixels.
    public var imageSize = 224
    public var patchSize = 16
    public var hiddenAct = "gelu_pytorch_tanh"
    public var layerNormEps = 1e-6

    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// Patches along one side of a tile.
    public var patchesPerSide: Int { imageSize / patchSize }
    public var numPatches: Int { patchesPerSide * patchesPerSide }

    public init() {}

    /// Vision model types accepted under `vlm_config` (colpali-engine wrote its own names there).
    static let legacyModelTypes = ["siglip_vision_model", "modernvbert_vision", "vbert"]

    /// Reads `vision_config`; `fields` gives its path for errors. `legacyNames` (a nested
    /// `vlm_config`) also accepts colpali-engine's model types; `embed_dim` is accepted anywhere.
    init(file: VisionConfigFile, fields: ConfigFields, legacyNames: Bool) throws {
        let accepted = legacyNames ? Self.legacyModelTypes : ["siglip_vision_model"]
        if let type = file.modelType, !accepted.contains(type) {
            throw ColModernVBertError.unsupportedModelType(field: fields.field("model_type"), found: type, expected: accepted)
        }
        hiddenSize =
            try ConfigFields.reconcile(
                file.hiddenSize, fields.field("hidden_size"), legacy: file.embedDim, fields.field("embed_dim")) ?? hiddenSize
        intermediateSize = file.intermediateSize ?? intermediateSize
        numHiddenLayers = file.numHiddenLayers ?? numHiddenLayers
        numAttentionHeads = file.numAttentionHeads ?? numAttentionHeads
        numChannels = file.numChannels ?? numChannels
        imageSize = try Self.square(file.imageSize, fields.field("image_size")) ?? imageSize
        patchSize = try Self.square(file.patchSize, fields.field("patch_size")) ?? patchSize
        hiddenAct = file.hiddenAct ?? hiddenAct
        layerNormEps = file.layerNormEps ?? layerNormEps

        func require(_ condition: Bool, _ key: String, _ reason: String) throws {
            try fields.require(condition, key, reason)
        }
        try require(hiddenSize > 0, "hidden_size", "must be positive")
        try require(intermediateSize > 0, "intermediate_size", "must be positive")
        try require(numHiddenLayers > 0, "num_hidden_layers", "must be positive")
        try require(numChannels > 0, "num_channels", "must be positive")
        try require(
            numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0, "num_attention_heads",
            "hidden_size \(hiddenSize) is not a multiple of \(numAttentionHeads) heads")
        try require(
            patchSize > 0 && imageSize >= patchSize && imageSize % patchSize == 0, "patch_size",
            "image_size \(imageSize) is not a multiple of patch_size \(patchSize)")
        try require(layerNormEps > 0, "layer_norm_eps", "must be positive")
        _ = try GeluApproximationName.parse(hiddenAct, field: fields.field("hidden_act"))
    }

    private static func square(_ size: SizeField?, _ field: String) throws -> Int? {
        guard let size else { return nil }
        guard size.height == size.width else {
            throw ColModernVBertError.unsupportedConfig(field: field, value: "[\(size.height), \(size.width)] (non-square)")
        }
        return size.height
    }
}
