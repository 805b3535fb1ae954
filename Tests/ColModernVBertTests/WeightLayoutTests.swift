import Foundation
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// The tiny checkpoint is stored in the published layout; these tests rename its tensors into the
/// other layouts found in the wild and check that each loads into the same model.
@Suite struct WeightLayoutTests {
    /// The published tensors, by name.
    static func publishedTensors() throws -> [String: Tensor] {
        let file = try SafeTensorsFile(path: Fixtures.tinyModel.appendingPathComponent("model.safetensors").path)
        return try Dictionary(uniqueKeysWithValues: file.names.map { ($0, try file.tensor($0)) })
    }

    /// Published name → name in `layout`, merging the split token table where the layout has one table.
    static func renamed(_ tensors: [String: Tensor], to layout: String) throws -> [String: Tensor] {
        let extraName = "base_model.model.model.text_model.embeddings.tok_embeddings.additional_embedding.weight"
        let mainName = "base_model.model.model.text_model.embeddings.tok_embeddings.weight"
        var source = tensors
        if layout != "published", let extra = source.removeValue(forKey: extraName), let main = source[mainName] {
            source[mainName] = try Tensor.cat([main, extra], dim: 0)
        }
        var out: [String: Tensor] = [:]
        for (name, tensor) in source {
            var renamed = name
            func swap(_ prefix: String, _ replacement: String) {
                if renamed.hasPrefix(prefix) { renamed = replacement + renamed.dropFirst(prefix.count) }
            }
            switch layout {
            case "colpali-engine":
                swap("base_model.model.model.text_model.", "model.text_model.")
                swap("base_model.model.custom_text_proj.", "custom_text_proj.")
            case "retrieval":
                swap("base_model.model.model.text_model.", "vlm.text_model.")
                swap("base_model.model.custom_text_proj.", "embedding_proj_layer.")
                swap("model.vision_model.", "vlm.vision_model.")
                swap("model.connector.modality_projection.proj.", "vlm.connector.modality_projection.")
            case "converted":
                swap("base_model.model.model.text_model.", "model.text_model.")
                swap("base_model.model.custom_text_proj.", "model.custom_text_proj.")
                swap("model.vision_model.", "model.vision_model.vision_model.")
                swap("model.connector.modality_projection.proj.", "model.connector.modality_projection.")
            default:
                break
            }
            out[renamed] = tensor
        }
        return out
    }

    @Test(arguments: ["published", "colpali-engine", "retrieval", "converted"])
    func everyLayoutGivesTheReferenceEmbeddings(_ layout: String) throws {
        let tensors = try Self.renamed(Self.publishedTensors(), to: layout)
        if layout == "retrieval" {
            #expect(tensors.keys.allSatisfy { $0.hasPrefix("vlm.") || $0.hasPrefix("embedding_proj_layer.") })
        }
        let config = try ModelConfig.load(directory: Fixtures.tinyModel)
        let model = try ColModernVBertModel(
            config: config, weights: InMemoryWeights(tensors), options: ModelOptions(device: .cpu, dtype: .float32))
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: "queries_left_padded")
        let output = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        for index in 0..<fixture.batchSize {
            #expect(maxAbsDifference(output[index].rows, try fixture.item(index).reference) <= fidelityTolerance)
        }
    }

    @Test func canonicalNamesOfEachLayout() {
        let cases: [(String, String?)] = [
            ("base_model.model.model.text_model.layers.3.attn.Wqkv.weight", "text_model.layers.3.attn.Wqkv.weight"),
            ("base_model.model.custom_text_proj.bias", "head.bias"),
            ("model.vision_model.encoder.layers.0.mlp.fc1.weight", "vision_model.encoder.layers.0.mlp.fc1.weight"),
            ("model.vision_model.vision_model.post_layernorm.bias", "vision_model.post_layernorm.bias"),
            ("model.connector.modality_projection.proj.weight", "connector.modality_projection.weight"),
            ("vlm.connector.modality_projection.weight", "connector.modality_projection.weight"),
            ("embedding_proj_layer.weight", "head.weight"),
            ("custom_text_proj.weight", "head.weight"),
            ("model.custom_text_proj.weight", "head.weight"),
            (
                "model.text_model.embeddings.tok_embeddings.additional_embedding.weight",
                "text_model.embeddings.tok_embeddings.additional_embedding.weight"
            ),
            ("lm_head.weight", nil),
            ("model.lm_head.weight", nil),
        ]
        for (raw, expected) in cases {
            #expect(WeightNames.canonical(raw) == expected, "\(raw)")
        }
    }

    @Test func unusedTensorsAreIgnored() throws {
        var tensors = try Self.publishedTensors()
        #expect(tensors.keys.contains { $0.hasPrefix("model.vision_model.head.") }, "the fixture keeps SigLIP's pooling head")
        tensors["lm_head.weight"] = try Tensor.zeros([3, 3])
        tensors["model.vision_model.head.probe"] = try Tensor.zeros([7])  // wrong shape, but never read
        let config = try ModelConfig.load(directory: Fixtures.tinyModel)
        _ = try ColModernVBertModel(config: config, weights: InMemoryWeights(tensors), options: ModelOptions(device: .cpu))
    }

    @Test func missingTensorIsNamed() throws {
        var tensors = try Self.publishedTensors()
        tensors.removeValue(forKey: "base_model.model.model.text_model.layers.2.mlp.Wo.weight")
        let config = try ModelConfig.load(directory: Fixtures.tinyModel)
        #expect(
            throws: ColModernVBertError.missingTensor(name: "text_model.layers.2.mlp.Wo.weight", layout: "published colmodernvbert-merged")
        ) {
            try ColModernVBertModel(config: config, weights: InMemoryWeights(tensors), options: ModelOptions(device: .cpu))
        }
    }

    @Test func misShapedTensorIsNamed() throws {
        var tensors = try Self.publishedTensors()
        let name = "model.vision_model.encoder.layers.1.self_attn.k_proj.weight"
        tensors[name] = try Tensor.zeros([32, 16])
        let config = try ModelConfig.load(directory: Fixtures.tinyModel)
        #expect(throws: ColModernVBertError.shapeMismatch(name: name, expected: [32, 32], found: [32, 16])) {
            try ColModernVBertModel(config: config, weights: InMemoryWeights(tensors), options: ModelOptions(device: .cpu))
        }
    }

    @Test func mixedLayoutsAreRejected() throws {
        var tensors = try Self.publishedTensors()
        tensors["embedding_proj_layer.weight"] = try Tensor.zeros([16, 32])
        let config = try ModelConfig.load(directory: Fixtures.tinyModel)
        #expect(throws: ColModernVBertError.self) {
            try ColModernVBertModel(config: config, weights: InMemoryWeights(tensors), options: ModelOptions(device: .cpu))
        }
    }

    @Test func projectionSizeMustMatchAStatedEmbeddingDim() throws {
        var config = try ModelConfig.load(directory: Fixtures.tinyModel)
        config.embeddingDim = 128
        #expect(throws: ColModernVBertError.shapeMismatch(name: "head.weight", expected: [128, 32], found: [16, 32])) {
            try ColModernVBertModel(
                config: config, weights: InMemoryWeights(try Self.publishedTensors()), options: ModelOptions(device: .cpu))
        }
    }
}
