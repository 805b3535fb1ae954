import CheckpointConfig

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

    /// Text model types accepted under `vlm_config` (colpali-engine wrote its own names there).
    static let legacyModelTypes = ["modernbert", "modernvbert_text", "vbert"]

    /// Reads `text_config`; `fields` gives its path for errors. `legacyNames` (a nested
    /// `vlm_config`) also accepts colpali-engine's model types. Call `validate` once complete.
    init(file: TextConfigFile, fields: ConfigFields, legacyNames: Bool) throws {
        self.init()
        let accepted = legacyNames ? Self.legacyModelTypes : ["modernbert"]
        if let type = file.modelType, !accepted.contains(type) {
            throw ColModernVBertError.unsupportedModelType(field: fields.field("model_type"), found: type, expected: accepted)
        }
        vocabSize = file.vocabSize ?? vocabSize
        hiddenSize = file.hiddenSize ?? hiddenSize
        intermediateSize = file.intermediateSize ?? intermediateSize
        numHiddenLayers = file.numHiddenLayers ?? numHiddenLayers
        numAttentionHeads = file.numAttentionHeads ?? numAttentionHeads
        hiddenActivation = file.hiddenActivation ?? hiddenActivation
        maxPositionEmbeddings = file.maxPositionEmbeddings ?? maxPositionEmbeddings
        normEps = file.normEps ?? normEps
        normBias = file.normBias ?? normBias
        attentionBias = file.attentionBias ?? attentionBias
        mlpBias = file.mlpBias ?? mlpBias
        // Absent and null both mean transformers' default.
        padTokenId = file.padTokenId ?? 50283
        localAttention = file.localAttention ?? localAttention

        let every = file.globalAttnEveryNLayers ?? 3
        try fields.require(every > 0, "global_attn_every_n_layers", "must be positive")
        if let names = file.layerTypes {
            layerTypes = try names.enumerated().map { index, name in
                guard let kind = AttentionKind(rawValue: name) else {
                    throw ColModernVBertError.unsupportedConfig(field: fields.field("layer_types[\(index)]"), value: name)
                }
                return kind
            }
            // Older configs give the pattern as a period; one that contradicts the list is an error.
            if let stated = file.globalAttnEveryNLayers, layerTypes != Self.defaultLayerTypes(count: layerTypes.count, globalEvery: stated)
            {
                throw ColModernVBertError.conflictingConfig(
                    fields: [fields.field("layer_types"), fields.field("global_attn_every_n_layers")],
                    values: [names.joined(separator: ","), "\(stated)"])
            }
        } else {
            layerTypes = Self.defaultLayerTypes(count: numHiddenLayers, globalEvery: every)
        }
        try readRope(file, fields)
    }

    /// `rope_parameters` (transformers 5) or the older `global_rope_theta` / `local_rope_theta`.
    private mutating func readRope(_ file: TextConfigFile, _ fields: ConfigFields) throws {
        if let scaling = file.ropeScaling {
            throw ColModernVBertError.unsupportedConfig(field: fields.field("rope_scaling"), value: scaling.description)
        }
        let parameters = fields.child("rope_parameters")
        let entries: [(AttentionKind, RopeParametersFile.RopeEntry?, String, Double?, Double)] = [
            (.full, file.ropeParameters?.fullAttention, "global_rope_theta", file.globalRopeTheta, 160_000),
            (.sliding, file.ropeParameters?.slidingAttention, "local_rope_theta", file.localRopeTheta, 10_000),
        ]
        for (kind, entry, legacyKey, legacyTheta, fallback) in entries {
            let entryFields = parameters.child(kind.rawValue)
            let type = entry?.ropeType ?? "default"
            guard type == "default" else {
                throw ColModernVBertError.unsupportedConfig(field: entryFields.field("rope_type"), value: type)
            }
            ropeTheta[kind] =
                try ConfigFields.reconcile(
                    entry?.ropeTheta, entryFields.field("rope_theta"), legacy: legacyTheta, fields.field(legacyKey)) ?? fallback
        }
    }

    func validate(_ fields: ConfigFields) throws {
        func require(_ condition: Bool, _ key: String, _ reason: String) throws {
            try fields.require(condition, key, reason)
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
        _ = try GeluApproximationName.parse(hiddenActivation, field: fields.field("hidden_activation"))
    }
}
