import Foundation
import Testing

@testable import ColModernVBert

@Suite struct ConfigTests {
    func parse(_ json: String) throws -> ModelConfig {
        try ModelConfig.parse(Data(json.utf8))
    }

    @Test func readsTheTinyCheckpointConfig() throws {
        let config = try ModelConfig.load(directory: Fixtures.tinyModel)
        #expect(config.text.hiddenSize == 32)
        #expect(config.text.numHiddenLayers == 4)
        #expect(config.text.numAttentionHeads == 2)
        #expect(config.text.intermediateSize == 48)
        #expect(config.text.layerTypes == [.full, .sliding, .sliding, .full])
        #expect(config.text.localAttention == 8)
        #expect(config.text.slidingWindow == 4)
        #expect(config.text.ropeTheta[.full] == 80_000)
        #expect(config.text.ropeTheta[.sliding] == 5_000)
        #expect(config.text.normBias == false)
        #expect(config.vision.imageSize == 64)
        #expect(config.vision.patchSize == 16)
        #expect(config.vision.hiddenAct == "gelu_pytorch_tanh")
        #expect(config.pixelShuffleFactor == 2)
        #expect(config.imageSeqLen == 4)
        let cases = try Fixtures.cases.get()
        #expect(config.imageTokenId == cases.image_token_id)
        #expect(config.imageSeqLen == cases.image_seq_len)
    }

    @Test func absentFieldsTakeTransformersDefaults() throws {
        // Only the fields transformers' own defaults contradict each other on are given
        // (image token 50407 beyond the default 50368 rows; 224 px tiles not divisible by 4x4).
        let config = try parse(
            #"""
            {"model_type": "modernvbert", "text_config": {}, "vision_config": {}, "additional_vocab_size": 40,
             "pixel_shuffle_factor": 2}
            """#)
        let text = config.text
        #expect(text.vocabSize == 50368 + 40)
        #expect(text.hiddenSize == 768)
        #expect(text.intermediateSize == 1152)
        #expect(text.numHiddenLayers == 22)
        #expect(text.numAttentionHeads == 12)
        #expect(text.localAttention == 128)
        #expect(text.normEps == 1e-5)
        #expect(text.ropeTheta == [.full: 160_000, .sliding: 10_000])
        // Every third layer, from layer 0, is global.
        #expect(text.layerTypes.count == 22)
        #expect(text.layerTypes.enumerated().allSatisfy { ($0.offset % 3 == 0) == ($0.element == .full) })
        let vision = config.vision
        #expect(vision.hiddenSize == 768 && vision.intermediateSize == 3072 && vision.numHiddenLayers == 12)
        #expect(vision.imageSize == 224 && vision.patchSize == 16 && vision.layerNormEps == 1e-6)
        #expect(config.imageTokenId == 50407)
        #expect(config.imageSeqLen == 49)
        #expect(config.embeddingDim == nil)
    }

    @Test func publishedGeometryGivesSixtyFourImageTokens() throws {
        let config = try parse(
            #"""
            {"model_type": "modernvbert", "image_token_id": 50407, "pixel_shuffle_factor": 4,
             "text_config": {"model_type": "modernbert", "vocab_size": 50408},
             "vision_config": {"model_type": "siglip_vision_model", "image_size": 512, "patch_size": 16}}
            """#)
        #expect(config.imageSeqLen == 64)
    }

    @Test func olderRopeFieldsAndLayerPatternAreHonoured() throws {
        let config = try parse(
            #"""
            {"model_type": "modernvbert", "image_token_id": 1, "pixel_shuffle_factor": 2,
             "text_config": {"num_hidden_layers": 4, "global_attn_every_n_layers": 2,
                             "global_rope_theta": 1000.0, "local_rope_theta": 50.0}}
            """#)
        #expect(config.text.layerTypes == [.full, .sliding, .full, .sliding])
        #expect(config.text.ropeTheta == [.full: 1000, .sliding: 50])
    }

    @Test func colModernVBertConfigNestsTheModelConfig() throws {
        let config = try parse(
            #"""
            {"model_type": "colmodernvbert", "embedding_dim": 96,
             "vlm_config": {"model_type": "modernvbert", "image_token_id": 7, "scale_factor": 7, "text_config": {"hidden_size": 64,
                            "num_attention_heads": 4, "num_hidden_layers": 2}}}
            """#)
        #expect(config.embeddingDim == 96)
        #expect(config.imageTokenId == 7)
        #expect(config.text.hiddenSize == 64)
        #expect(config.pixelShuffleFactor == 7)
    }

    @Test func unsupportedModelTypesAreErrors() throws {
        #expect(
            throws: ColModernVBertError.unsupportedModelType(
                field: "model_type", found: "idefics3", expected: ["modernvbert", "colmodernvbert"])
        ) {
            try parse(#"{"model_type": "idefics3"}"#)
        }
        #expect(throws: ColModernVBertError.unsupportedModelType(field: "text_config.model_type", found: "vbert", expected: ["modernbert"]))
        {
            try parse(#"{"model_type": "modernvbert", "text_config": {"model_type": "vbert"}}"#)
        }
        #expect(
            throws: ColModernVBertError.unsupportedModelType(
                field: "vision_config.model_type", found: "clip_vision_model", expected: ["siglip_vision_model"])
        ) {
            try parse(#"{"model_type": "modernvbert", "vision_config": {"model_type": "clip_vision_model"}}"#)
        }
        #expect(throws: ColModernVBertError.self) { try parse(#"{"text_config": {}}"#) }
    }

    @Test func inconsistentConfigsAreErrors() throws {
        let bad: [(String, String)] = [
            (#"{"hidden_size": 100, "num_attention_heads": 12}"#, "text_config.num_attention_heads"),
            (#"{"num_hidden_layers": 3, "layer_types": ["full_attention"]}"#, "text_config.layer_types"),
            (#"{"vocab_size": 4}"#, "image_token_id"),
            (#"{"hidden_size": "wide"}"#, "text_config.hidden_size"),
            (#"{"norm_bias": 1}"#, "text_config.norm_bias"),
        ]
        for (text, field) in bad {
            do {
                _ = try parse(#"{"model_type": "modernvbert", "image_token_id": 5, "pixel_shuffle_factor": 2, "text_config": \#(text)}"#)
                Issue.record("accepted \(text)")
            } catch let ColModernVBertError.invalidConfig(found, _) {
                #expect(found == field, "\(text)")
            }
        }
        #expect(throws: ColModernVBertError.invalidConfig(field: "pixel_shuffle_factor", reason: "3 does not divide the 14x14 patch grid"))
        {
            try parse(#"{"model_type": "modernvbert", "image_token_id": 5, "pixel_shuffle_factor": 3}"#)
        }
        #expect(throws: ColModernVBertError.unsupportedConfig(field: "text_config.layer_types[1]", value: "chunked_attention")) {
            try parse(
                #"{"model_type": "modernvbert", "image_token_id": 5, "text_config": {"num_hidden_layers": 2, "layer_types": ["full_attention", "chunked_attention"]}}"#
            )
        }
        #expect(throws: ColModernVBertError.unsupportedConfig(field: "text_config.rope_parameters.full_attention.rope_type", value: "yarn"))
        {
            try parse(#"{"model_type": "modernvbert", "text_config": {"rope_parameters": {"full_attention": {"rope_type": "yarn"}}}}"#)
        }
        #expect(throws: ColModernVBertError.unsupportedConfig(field: "vision_config.hidden_act", value: "quick_gelu")) {
            try parse(#"{"model_type": "modernvbert", "vision_config": {"hidden_act": "quick_gelu"}}"#)
        }
    }

    @Test func unreadableConfigNamesTheFile() throws {
        let missing = URL(fileURLWithPath: "/nonexistent-model-dir")
        do {
            _ = try ModelConfig.load(directory: missing)
            Issue.record("loaded a config from nowhere")
        } catch let ColModernVBertError.unreadableConfig(path, _) {
            #expect(path == "/nonexistent-model-dir/config.json")
        }
        #expect(throws: ColModernVBertError.self) { try ModelConfig.parse(Data("[1, 2]".utf8)) }
    }
}

/// colpali-engine's legacy config.json keys, and their conflicts with the keys that replaced them.
@Suite struct LegacyConfigTests {
    static func nested(_ vlm: String, top: String = "") throws -> ModelConfig {
        try ModelConfig.parse(Data(#"{"model_type": "colmodernvbert", \#(top) "vlm_config": {\#(vlm)}}"#.utf8))
    }

    @Test func legacyKeysAreRead() throws {
        let config = try Self.nested(
            #"""
            "model_type": "modernvbert", "image_token_id": 5, "additional_vocab_size": 40, "scale_factor": 2, "max_position_embeddings": 512,
            "text_config": {"model_type": "vbert", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 4,
                            "global_rope_theta": 1000.0, "local_rope_theta": 50.0, "global_attn_every_n_layers": 2,
                            "num_hidden_layers": 4},
            "vision_config": {"model_type": "modernvbert_vision", "embed_dim": 48, "num_attention_heads": 4, "image_size": 64}
            """#)
        #expect(config.text.vocabSize == 140)
        #expect(config.text.maxPositionEmbeddings == 512)
        #expect(config.text.ropeTheta == [.full: 1000, .sliding: 50])
        #expect(config.text.layerTypes == [.full, .sliding, .full, .sliding])
        #expect(config.vision.hiddenSize == 48)
        #expect(config.pixelShuffleFactor == 2)
        #expect(config.embeddingDim == 128)
    }

    @Test(arguments: [
        (#""scale_factor": 2, "pixel_shuffle_factor": 4"#, ["vlm_config.pixel_shuffle_factor", "vlm_config.scale_factor"]),
        (
            #""vision_config": {"embed_dim": 48, "hidden_size": 64}"#,
            ["vlm_config.vision_config.hidden_size", "vlm_config.vision_config.embed_dim"]
        ),
        (#""hidden_size": 64, "text_config": {"hidden_size": 96}"#, ["vlm_config.text_config.hidden_size", "vlm_config.hidden_size"]),
        (#""vocab_size": 64, "text_config": {"vocab_size": 96}"#, ["vlm_config.text_config.vocab_size", "vlm_config.vocab_size"]),
        (
            #""max_position_embeddings": 64, "text_config": {"max_position_embeddings": 96}"#,
            ["vlm_config.text_config.max_position_embeddings", "vlm_config.max_position_embeddings"]
        ),
        (
            #""text_config": {"global_rope_theta": 10.0, "rope_parameters": {"full_attention": {"rope_theta": 20.0}}}"#,
            ["vlm_config.text_config.rope_parameters.full_attention.rope_theta", "vlm_config.text_config.global_rope_theta"]
        ),
        (
            #""text_config": {"num_hidden_layers": 2, "global_attn_every_n_layers": 1, "layer_types": ["full_attention", "sliding_attention"]}"#,
            ["vlm_config.text_config.layer_types", "vlm_config.text_config.global_attn_every_n_layers"]
        ),
    ])
    func conflictingLegacyAndNewKeysNameBoth(vlm: String, fields: [String]) throws {
        do {
            _ = try Self.nested(#""model_type": "modernvbert", "image_token_id": 5, \#(vlm)"#)
            Issue.record("accepted \(vlm)")
        } catch let ColModernVBertError.conflictingConfig(found, _) {
            #expect(found == fields)
        }
        let message = "\(ColModernVBertError.conflictingConfig(fields: fields, values: ["1", "2"]))"
        #expect(fields.allSatisfy { message.contains($0) })
    }

    @Test func agreeingLegacyAndNewKeysAreAccepted() throws {
        let config = try Self.nested(
            #""model_type": "modernvbert", "image_token_id": 5, "scale_factor": 2, "pixel_shuffle_factor": 2, "vision_config": {"embed_dim": 64, "hidden_size": 64, "num_attention_heads": 4}"#
        )
        #expect(config.pixelShuffleFactor == 2 && config.vision.hiddenSize == 64)
    }

    @Test func legacyModelTypesOnlyUnderVlmConfig() throws {
        #expect(
            throws: ColModernVBertError.unsupportedModelType(
                field: "vlm_config.text_config.model_type", found: "llama", expected: TextConfig.legacyModelTypes)
        ) {
            try Self.nested(#""text_config": {"model_type": "llama"}"#)
        }
        #expect(
            throws: ColModernVBertError.unsupportedModelType(
                field: "vlm_config.model_type", found: "idefics3", expected: ModelConfig.vlmModelTypes)
        ) {
            try Self.nested(#""model_type": "idefics3""#)
        }
        #expect(throws: Never.self) {
            try Self.nested(
                #""image_token_id": 5, "pixel_shuffle_factor": 2, "text_config": {"model_type": "modernvbert_text"}, "vision_config": {"model_type": "vbert"}"#
            )
        }
    }

    @Test func decodingErrorsNameTheFieldPath() throws {
        #expect(throws: ColModernVBertError.invalidConfig(field: "text_config.layer_types[1]", reason: "expected a string")) {
            try ModelConfig.parse(Data(#"{"model_type": "modernvbert", "text_config": {"layer_types": ["full_attention", 3]}}"#.utf8))
        }
        #expect(throws: ColModernVBertError.invalidConfig(field: "vlm_config.vision_config.embed_dim", reason: "expected an integer")) {
            try Self.nested(#""vision_config": {"embed_dim": "wide"}"#)
        }
    }

    @Test func decimalsAreDecodedExactly() throws {
        // The digits of 1e-5 and 1e-6 written by Python, and a theta with 17 significant digits.
        let config = try ModelConfig.parse(
            Data(
                #"{"model_type": "modernvbert", "image_token_id": 5, "pixel_shuffle_factor": 2, "text_config": {"norm_eps": 1e-05, "global_rope_theta": 0.00392156862745098}, "vision_config": {"layer_norm_eps": 9.999999974752427e-07}}"#
                    .utf8))
        #expect(config.text.normEps.bitPattern == Double("1e-05")!.bitPattern)
        #expect(config.text.ropeTheta[.full]!.bitPattern == Double("0.00392156862745098")!.bitPattern)
        #expect(config.vision.layerNormEps.bitPattern == Double("9.999999974752427e-07")!.bitPattern)
    }
}
