/// Maps the tensor names of the checkpoint layouts found in the wild onto one canonical set, the
/// names of transformers' `ModernVBertModel` plus `head.*` for the projection:
///
/// | layout                                         | text / vision / connector                                         | projection               |
/// |------------------------------------------------|-------------------------------------------------------------------|--------------------------|
/// | colmodernvbert-merged, PEFT names              | `base_model.model.model.text_model.*`, `model.vision_model.*`, `model.connector.*` | `base_model.model.custom_text_proj.*` |
/// | colmodernvbert-merged before 2026-03-31        | `model.text_model.*`, `model.vision_model.*`, `model.connector.modality_projection.proj.*` | `model.custom_text_proj.*` |
/// | colmodernvbert-merged, transformers 5 re-upload | `model.text_model.*`, `model.vision_model.vision_model.*`, `model.connector.*` | `model.custom_text_proj.*` |
/// | colpali-engine ColModernVBert in memory        | `model.text_model.*`, `model.vision_model.*`, `model.connector.*` | `custom_text_proj.*` |
/// | transformers ColModernVBertForRetrieval        | `vlm.text_model.*`, `vlm.vision_model.*`, `vlm.connector.*`       | `embedding_proj_layer.*` |
///
/// (vLLM's ColModernVBERT loader maps the second row before its April 2026 change and the third
/// after it.) Within those, two legacy spellings are folded too: colpali-engine's connector
/// sub-module (`modality_projection.proj.weight`) and SigLIP nested one level deeper
/// (`vision_model.vision_model.*`). colpali-engine's split token table
/// (`tok_embeddings.additional_embedding.weight`, the `additional_vocab_size` added tokens) keeps
/// its own canonical name; `TextEmbeddings` appends it to the main table.
enum WeightNames {
    static let projectionPrefixes = ["custom_text_proj.", "model.custom_text_proj.", "embedding_proj_layer."]
    static let modelPrefixes = ["model.", "vlm."]
    static let additionalEmbedding = "text_model.embeddings.tok_embeddings.additional_embedding.weight"

    /// The canonical name of a checkpoint tensor, or nil for names outside every known layout.
    static func canonical(_ raw: String) -> String? {
        var name = raw
        if name.hasPrefix("base_model.model.") {
            name.removeFirst("base_model.model.".count)
        }
        for prefix in projectionPrefixes where name.hasPrefix(prefix) {
            return "head." + name.dropFirst(prefix.count)
        }
        guard let prefix = modelPrefixes.first(where: { name.hasPrefix($0) }) else { return nil }
        name.removeFirst(prefix.count)
        guard ["text_model.", "vision_model.", "connector."].contains(where: { name.hasPrefix($0) }) else { return nil }
        if name.hasPrefix("vision_model.vision_model.") {
            name.removeFirst("vision_model.".count)
        }
        if name == "connector.modality_projection.proj.weight" {
            name = "connector.modality_projection.weight"
        }
        return name
    }

    /// A short description of the layout the names follow, for error messages.
    static func describeLayout(_ names: [String]) -> String {
        if names.contains(where: { $0.hasPrefix("base_model.model.") }) { return "published colmodernvbert-merged" }
        if names.contains(where: { $0.hasPrefix("vlm.") }) { return "transformers ColModernVBertForRetrieval" }
        if names.contains(where: { $0.hasPrefix("model.custom_text_proj.") }) {
            return names.contains(where: { $0.hasPrefix("model.vision_model.vision_model.") })
                ? "colmodernvbert-merged (transformers 5)" : "colmodernvbert-merged (colpali-engine)"
        }
        if names.contains(where: { $0.hasPrefix("custom_text_proj.") }) { return "colpali-engine" }
        return "unrecognised"
    }
}
