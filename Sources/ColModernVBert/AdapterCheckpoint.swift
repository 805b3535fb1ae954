import CheckpointConfig
import Foundation

/// Recognises a PEFT adapter folder (`adapter_config.json` + `adapter_model.safetensors`, as in
/// `ModernVBERT/colmodernvbert`) so that loading it fails with the repository to use instead of a
/// missing-tensor error.
///
/// Not merged at load: the adapter repository holds LoRA deltas for the text tower only, over a
/// base model named in its config, so merging would need a second download (the base repository)
/// and PEFT's target-module and scaling rules. `ModernVBERT/colmodernvbert-merged` is that merge,
/// published by the same authors.
enum AdapterCheckpoint {
    static let mergedRepository = "ModernVBERT/colmodernvbert-merged"

    /// Throws `adapterCheckpoint` when `directory` holds an adapter and no merged weights.
    static func refuse(directory: URL) throws {
        let files = FileManager.default
        guard files.fileExists(atPath: directory.appendingPathComponent(AdapterConfigFile.fileName).path) else { return }
        let merged = ["model.safetensors", "model.safetensors.index.json"].contains {
            files.fileExists(atPath: directory.appendingPathComponent($0).path)
        }
        guard !merged else { return }
        // The base model only makes the message more useful; an unreadable adapter config is still an adapter.
        let adapter = try? ConfigFile.load(AdapterConfigFile.self, named: AdapterConfigFile.fileName, in: directory)
        throw ColModernVBertError.adapterCheckpoint(
            directory: directory.path, baseModel: adapter?.baseModelNameOrPath, use: mergedRepository)
    }
}
