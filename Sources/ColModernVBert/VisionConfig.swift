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

    init(json: ConfigJSON) throws {
        if let type = try json.optionalString("model_type"), type != "siglip_vision_model" {
            throw ColModernVBertError.unsupportedModelType(
                field: json.field("model_type"), found: type, expected: ["siglip_vision_model"])
        }
        hiddenSize = try json.int("hidden_size", default: hiddenSize)
        intermediateSize = try json.int("intermediate_size", default: intermediateSize)
        numHiddenLayers = try json.int("num_hidden_layers", default: numHiddenLayers)
        numAttentionHeads = try json.int("num_attention_heads", default: numAttentionHeads)
        numChannels = try json.int("num_channels", default: numChannels)
        imageSize = try json.squareSize("image_size", default: imageSize)
        patchSize = try json.squareSize("patch_size", default: patchSize)
        hiddenAct = try json.string("hidden_act", default: hiddenAct)
        layerNormEps = try json.double("layer_norm_eps", default: layerNormEps)

        func require(_ condition: Bool, _ key: String, _ reason: String) throws {
            if !condition { throw ColModernVBertError.invalidConfig(field: json.field(key), reason: reason) }
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
        _ = try GeluApproximationName.parse(hiddenAct, field: json.field("hidden_act"))
    }
}
