import Foundation

/// Which repository files a model needs.
///
/// The hub lists every file of a repository (README, images, other weight formats);
/// only these are fetched. Weights are either one `model.safetensors` or a
/// `model.safetensors.index.json` whose `weight_map` names the shards.
public struct FileSelection: Sendable, Equatable {
    /// Files that must exist; a repository without one of them is an error.
    public var required: [String]
    /// Files fetched when the repository has them.
    public var optional: [String]
    /// Single-file weights, preferred when present.
    public var singleWeights: String
    /// Sharded weights index (safetensors format).
    public var weightsIndex: String

    public init(
        required: [String], optional: [String], singleWeights: String = "model.safetensors",
        weightsIndex: String = "model.safetensors.index.json"
    ) {
        self.required = required
        self.optional = optional
        self.singleWeights = singleWeights
        self.weightsIndex = weightsIndex
    }

    /// What the ColModernVBert service loads: model config, processor and image
    /// processor configs, tokenizer files, safetensors weights.
    public static let colModernVBert = FileSelection(
        required: ["config.json", "tokenizer.json"],
        optional: [
            "preprocessor_config.json", "processor_config.json", "tokenizer_config.json",
            "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "chat_template.json",
        ]
    )

    /// The weights layout a repository uses.
    enum Weights: Equatable {
        case single(String)
        case sharded(index: String)
    }

    /// Files to fetch given the repository's file list (shards come later, from the index).
    func plan(available: Set<String>, repo: String, revision: String) throws(HubError) -> (files: [String], weights: Weights) {
        // An adapter repository (ModernVBERT/colmodernvbert) lacks config.json and the weights: say what it is.
        if available.contains("adapter_config.json"), !available.contains(singleWeights), !available.contains(weightsIndex) {
            throw .adapterRepository(repo: repo, revision: revision)
        }
        var files: [String] = []
        for file in required {
            guard available.contains(file) else { throw .fileNotFound(repo: repo, revision: revision, file: file) }
            files.append(file)
        }
        files += optional.filter { available.contains($0) }
        let weights: Weights
        if available.contains(singleWeights) {
            weights = .single(singleWeights)
        } else if available.contains(weightsIndex) {
            weights = .sharded(index: weightsIndex)
        } else {
            throw .fileNotFound(repo: repo, revision: revision, file: singleWeights)
        }
        return (files, weights)
    }

    /// Shard file names from a safetensors index (the distinct `weight_map` values), sorted.
    static func shards(fromIndex data: Data, file: String) throws(HubError) -> [String] {
        struct Index: Decodable { let weight_map: [String: String] }
        let index: Index
        do {
            index = try JSONDecoder().decode(Index.self, from: data)
        } catch {
            throw .invalidResponse(url: file, reason: "not a safetensors index (no weight_map): \(error)")
        }
        let shards = Set(index.weight_map.values)
        if let unsafe = shards.first(where: { !HubNames.isSafeRelativePath($0) }) {
            throw .invalidResponse(url: file, reason: "unsafe shard name '\(unsafe)'")
        }
        guard !shards.isEmpty else { throw .invalidResponse(url: file, reason: "weight_map is empty") }
        return shards.sorted()
    }

    /// What a cached snapshot lacks to be usable, judged from disk alone (offline):
    /// the required files and complete weights. Optional files cannot be judged
    /// without the repository listing, so they are not demanded.
    func missingFiles(in cache: RepoCache, commit: String) -> [String] {
        var missing = required.filter { !cache.hasFile(commit: commit, file: $0) }
        if cache.hasFile(commit: commit, file: singleWeights) { return missing }
        guard cache.hasFile(commit: commit, file: weightsIndex) else {
            return missing + [singleWeights]
        }
        let indexURL = cache.pointerPath(commit: commit, file: weightsIndex)
        guard let data = try? Data(contentsOf: indexURL),
            let shards = try? FileSelection.shards(fromIndex: data, file: weightsIndex)
        else {
            return missing + [weightsIndex]
        }
        missing += shards.filter { !cache.hasFile(commit: commit, file: $0) }
        return missing
    }
}
