/// `config.json` of a ColModernVBert checkpoint, as written, every key optional (absent or null → nil) so
/// that the model can apply transformers' defaults and tell a legacy key from its successor.
///
/// Three shapes are published:
/// - transformers 5 `ModernVBertModel` (model_type `modernvbert`): `text_config`, `vision_config`,
///   `image_token_id`, `pixel_shuffle_factor` at the top level;
/// - transformers 5 `ColModernVBertForRetrieval` (model_type `colmodernvbert`): the same under
///   `vlm_config`, with `embedding_dim` at the top;
/// - colpali-engine (the `colmodernvbert-merged` revisions before 2026-03-31; model_type
///   `colmodernvbert`): also `vlm_config`, which adds `additional_vocab_size`, `scale_factor`
///   (= `pixel_shuffle_factor`), `hidden_size`, `vocab_size` and `max_position_embeddings` of the text
///   tower at its own level, a text config of model_type `modernvbert_text` or `vbert` and a vision
///   config of model_type `modernvbert_vision` or `vbert` whose width is `embed_dim`.
public struct ModelConfigFile: Decodable, Equatable, Sendable {
    public static let fileName = "config.json"

    public var modelType: String?
    public var textConfig: TextConfigFile?
    public var visionConfig: VisionConfigFile?
    public var imageTokenId: Int?
    public var pixelShuffleFactor: Int?
    /// colpali-engine's second name of `pixel_shuffle_factor`.
    public var scaleFactor: Int?
    /// colpali-engine: rows of the second token table (`tok_embeddings.additional_embedding`).
    public var additionalVocabSize: Int?
    /// colpali-engine: the text tower's width, repeated at this level.
    public var hiddenSize: Int?
    /// colpali-engine: the text tower's base vocabulary, repeated at this level.
    public var vocabSize: Int?
    /// colpali-engine: the text tower's position limit, at this level.
    public var maxPositionEmbeddings: Int?
    public var embeddingDim: Int?
    /// Nested model config (`colmodernvbert`); an array only to give the recursive type a size.
    private var nested: [ModelConfigFile]

    public var vlmConfig: ModelConfigFile? { nested.first }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case textConfig = "text_config"
        case visionConfig = "vision_config"
        case imageTokenId = "image_token_id"
        case pixelShuffleFactor = "pixel_shuffle_factor"
        case scaleFactor = "scale_factor"
        case additionalVocabSize = "additional_vocab_size"
        case hiddenSize = "hidden_size"
        case vocabSize = "vocab_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case embeddingDim = "embedding_dim"
        case vlmConfig = "vlm_config"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        textConfig = try c.decodeIfPresent(TextConfigFile.self, forKey: .textConfig)
        visionConfig = try c.decodeIfPresent(VisionConfigFile.self, forKey: .visionConfig)
        imageTokenId = try c.decodeIfPresent(Int.self, forKey: .imageTokenId)
        pixelShuffleFactor = try c.decodeIfPresent(Int.self, forKey: .pixelShuffleFactor)
        scaleFactor = try c.decodeIfPresent(Int.self, forKey: .scaleFactor)
        additionalVocabSize = try c.decodeIfPresent(Int.self, forKey: .additionalVocabSize)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings)
        embeddingDim = try c.decodeIfPresent(Int.self, forKey: .embeddingDim)
        nested = try c.decodeIfPresent(ModelConfigFile.self, forKey: .vlmConfig).map { [$0] } ?? []
    }

    /// The object holding the model's fields: `vlm_config` when there is one, else the top level.
    public var modelObject: ModelConfigFile { vlmConfig ?? self }

    /// The text tower's position limit wherever the file states it (`text_config` first).
    public var textMaxPositionEmbeddings: Int? {
        modelObject.textConfig?.maxPositionEmbeddings ?? modelObject.maxPositionEmbeddings
    }
}

/// `text_config` (ModernBERT).
public struct TextConfigFile: Decodable, Equatable, Sendable {
    public var modelType: String?
    public var vocabSize: Int?
    public var hiddenSize: Int?
    public var intermediateSize: Int?
    public var numHiddenLayers: Int?
    public var numAttentionHeads: Int?
    public var hiddenActivation: String?
    public var maxPositionEmbeddings: Int?
    public var normEps: Double?
    public var normBias: Bool?
    public var attentionBias: Bool?
    public var mlpBias: Bool?
    public var padTokenId: Int?
    public var localAttention: Int?
    public var layerTypes: [String]?
    public var globalAttnEveryNLayers: Int?
    /// ModernBERT before transformers 5: rotary bases of global / sliding layers.
    public var globalRopeTheta: Double?
    public var localRopeTheta: Double?
    public var ropeScaling: JSONValue?
    /// transformers 5: rotary settings per attention kind.
    public var ropeParameters: RopeParametersFile?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case hiddenActivation = "hidden_activation"
        case maxPositionEmbeddings = "max_position_embeddings"
        case normEps = "norm_eps"
        case normBias = "norm_bias"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
        case padTokenId = "pad_token_id"
        case localAttention = "local_attention"
        case layerTypes = "layer_types"
        case globalAttnEveryNLayers = "global_attn_every_n_layers"
        case globalRopeTheta = "global_rope_theta"
        case localRopeTheta = "local_rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads)
        hiddenActivation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings)
        normEps = try c.decodeIfPresent(Double.self, forKey: .normEps)
        normBias = try c.decodeIfPresent(Bool.self, forKey: .normBias)
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias)
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias)
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        localAttention = try c.decodeIfPresent(Int.self, forKey: .localAttention)
        layerTypes = try c.decodeIfPresent([String].self, forKey: .layerTypes)
        globalAttnEveryNLayers = try c.decodeIfPresent(Int.self, forKey: .globalAttnEveryNLayers)
        globalRopeTheta = try c.decodeIfPresent(Double.self, forKey: .globalRopeTheta)
        localRopeTheta = try c.decodeIfPresent(Double.self, forKey: .localRopeTheta)
        ropeScaling = try c.decodeIfPresent(JSONValue.self, forKey: .ropeScaling).flatMap { $0.isNull ? nil : $0 }
        ropeParameters = try c.decodeIfPresent(RopeParametersFile.self, forKey: .ropeParameters)
    }
}

/// `rope_parameters` of a ModernBERT config: one entry per attention kind (other keys are ignored).
public struct RopeParametersFile: Decodable, Equatable, Sendable {
    public var fullAttention: RopeEntry?
    public var slidingAttention: RopeEntry?

    public struct RopeEntry: Decodable, Equatable, Sendable {
        public var ropeType: String?
        public var ropeTheta: Double?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type"
            case ropeTheta = "rope_theta"
        }
    }

    enum CodingKeys: String, CodingKey {
        case fullAttention = "full_attention"
        case slidingAttention = "sliding_attention"
    }
}

/// `vision_config` (SigLIP).
public struct VisionConfigFile: Decodable, Equatable, Sendable {
    public var modelType: String?
    public var hiddenSize: Int?
    /// colpali-engine's name of `hidden_size`.
    public var embedDim: Int?
    public var intermediateSize: Int?
    public var numHiddenLayers: Int?
    public var numAttentionHeads: Int?
    public var numChannels: Int?
    public var imageSize: SizeField?
    public var patchSize: SizeField?
    public var hiddenAct: String?
    public var layerNormEps: Double?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case embedDim = "embed_dim"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numChannels = "num_channels"
        case imageSize = "image_size"
        case patchSize = "patch_size"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
    }

    public init() {}
}
