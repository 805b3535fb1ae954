/// The attention pattern of one ModernBERT layer.
public enum AttentionKind: String, Sendable, Equatable, CaseIterable {
    /// Every token attends to every (non-padding) token.
    case full = "full_attention"
    /// Tokens attend only within `TextConfig.slidingWindow` positions on each side.
    case sliding = "sliding_attention"
}

/// ModernBERT text tower settings (`text_config`, model_type "modernbert"), with transformers'
/// ModernBertConfig defaults for absent fields.
public struct TextConfig: Sendable, Equatable {
    /// Rows of the token table, including a colpali-engine config's `additional_vocab_size`.
    public var vocabSize = 50368
    public var hiddenSize = 768
    public var intermediateSize = 1152
    public var numHiddenLayers = 22
    public var numAttentionHeads = 12
    public var hiddenActivation = "gelu"
    public var maxPositionEmbeddings = 8192
    public var normEps = 1e-5
    public var normBias = false
    public var attentionBias = false
    public var mlpBias = false
    public var padTokenId: Int? = 50283
    /// `local_attention`: the whole window of sliding layers (half of it on each side).
    public var localAttention = 128
    public var layerTypes: [AttentionKind] = []
    /// Rotary base per attention kind (`rope_parameters[kind].rope_theta`).
    public var ropeTheta: [AttentionKind: Double] = [.full: 160_000, .sliding: 10_000]

    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// Tokens further apart than this never attend to each other in sliding layers.
    public var slidingWindow: Int { localAttention / 2 }

    public init() {
        layerTypes = Self.defaultLayerTypes(count: numHiddenLayers, globalEvery: 3)
    }

    /// transformers' pattern for configs without `layer_types`: every `globalEvery`-th layer (from 0) is global.
    static func defaultLayerTypes(count: Int, globalEvery: Int) -> [AttentionKind] {
        (0..<count).map { index in index % globalEvery == 0 ? .full : .sliding }
    }

    init(json: ConfigJSON) throws {
        self.init()
        if let type = try json.optionalString("model_type"), type != "modernbert" {
            throw ColModernVBertError.unsupportedModelType(field: json.field("model_type"), found: type, expected: ["modernbert"])
        }
        vocabSize = try json.int("vocab_size", default: vocabSize)
        hiddenSize = try json.int("hidden_size", default: hiddenSize)
        intermediateSize = try json.int("intermediate_size", default: intermediateSize)
        numHiddenLayers = try json.int("num_hidden_layers", default: numHiddenLayers)
        numAttentionHeads = try json.int("num_attention_heads", default: numAttentionHeads)
        hiddenActivation = try json.string("hidden_activation", default: hiddenActivation)
        maxPositionEmbeddings = try json.int("max_position_embeddings", default: maxPositionEmbeddings)
        normEps = try json.double("norm_eps", default: normEps)
        normBias = try json.bool("norm_bias", default: normBias)
        attentionBias = try json.bool("attention_bias", default: attentionBias)
        mlpBias = try json.bool("mlp_bias", default: mlpBias)
        padTokenId = json.has("pad_token_id") ? try json.optionalInt("pad_token_id") : 50283
        localAttention = try json.int("local_attention", default: localAttention)

        if let names = try json.stringArray("layer_types") {
            layerTypes = try names.enumerated().map { index, name in
                guard let kind = AttentionKind(rawValue: name) else {
                    throw ColModernVBertError.unsupportedConfig(field: json.field("layer_types[\(index)]"), value: name)
                }
                return kind
            }
        } else {
            let every = try json.int("global_attn_every_n_layers", default: 3)
            guard every > 0 else {
                throw ColModernVBertError.invalidConfig(field: json.field("global_attn_every_n_layers"), reason: "must be positive")
            }
            layerTypes = Self.defaultLayerTypes(count: numHiddenLayers, globalEvery: every)
        }
        try readRope(json)
        try validate(json)
    }

    /// `rope_parameters` (transformers 5) or the older `global_rope_theta` / `local_rope_theta`.
    private mutating func readRope(_ json: ConfigJSON) throws {
        ropeTheta[.full] = try json.double("global_rope_theta", default: 160_000)
        ropeTheta[.sliding] = try json.double("local_rope_theta", default: 10_000)
        if let scaling = try json.object("rope_scaling") {
            throw ColModernVBertError.unsupportedConfig(field: scaling.path, value: "\(scaling.values)")
        }
        guard let parameters = try json.object("rope_parameters") else { return }
        for kind in AttentionKind.allCases {
            guard let entry = try parameters.object(kind.rawValue) else { continue }
            let type = try entry.string("rope_type", default: "default")
            guard type == "default" else {
                throw ColModernVBertError.unsupportedConfig(field: entry.field("rope_type"), value: type)
            }
            ropeTheta[kind] = try entry.double("rope_theta", default: ropeTheta[kind] ?? 10_000)
        }
    }

    private func validate(_ json: ConfigJSON) throws {
        func require(_ condition: Bool, _ key: String, _ reason: String) throws {
            if !condition { throw ColModernVBertError.invalidConfig(field: json.field(key), reason: reason) }
        }
        try require(vocabSize > 0, "vocab_size", "must be positive")
        try require(hiddenSize > 0, "hidden_size", "must be positive")
        try require(intermediateSize > 0, "intermediate_size", "must be positive")
        try require(numHiddenLayers > 0, "num_hidden_layers", "must be positive")
        try require(
            numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0, "num_attention_heads",
            "hidden_size \(hiddenSize) is not a multiple of \(numAttentionHeads) heads")
        try require(headDim % 2 == 0, "num_attention_heads", "rotary embeddings need an even head size, got \(headDim)")
        try require(
            layerTypes.count == numHiddenLayers, "layer_types",
            "\(layerTypes.count) entries for \(numHiddenLayers) layers")
        try require(localAttention >= 2, "local_attention", "must be at least 2, got \(localAttention)")
        try require(normEps > 0, "norm_eps", "must be positive")
        for (kind, theta) in ropeTheta {
            try require(theta > 0, "rope_parameters.\(kind.rawValue).rope_theta", "must be positive")
        }
        _ = try GeluApproximationName.parse(hiddenActivation, field: json.field("hidden_activation"))
    }
}
