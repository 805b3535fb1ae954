import Foundation

/// Generates small checkpoint-like repositories at test time: a few JSON files the
/// service needs, files it must NOT fetch (README, other weight formats), and
/// safetensors weights of a few MB with deterministic pseudo-random contents.
enum RepoFixture {
    /// The files `FileSelection.colModernVBert` should fetch from a single-weights repo.
    static let singleWeightsNeeded: Set<String> = [
        "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "preprocessor_config.json", "processor_config.json", "model.safetensors",
    ]

    /// Files present in the generated repositories that the selection must skip.
    static let notNeeded: Set<String> = ["README.md", "pytorch_model.bin", "images/example.png"]

    /// A repository with one `model.safetensors` of about `weightBytes` bytes.
    static func single(at folder: URL, weightBytes: Int = 3_000_000, seed: UInt64 = 1) throws {
        try writeCommon(at: folder, omitTokenizer: false)
        try write(safetensors(floatCount: weightBytes / 4, seed: seed), to: folder.appendingPathComponent("model.safetensors"))
    }

    /// A repository with `model.safetensors.index.json` and two shards (plus an
    /// unreferenced third shard the index does not name).
    static func sharded(at folder: URL, shardBytes: Int = 1_500_000) throws {
        try writeCommon(at: folder, omitTokenizer: false)
        let shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        for (i, shard) in shards.enumerated() {
            try write(safetensors(floatCount: shardBytes / 4, seed: UInt64(10 + i)), to: folder.appendingPathComponent(shard))
        }
        try write(safetensors(floatCount: 1000, seed: 99), to: folder.appendingPathComponent("model-stale.safetensors"))
        let index: [String: Any] = [
            "metadata": ["total_size": 2 * (shardBytes / 4) * 4],
            "weight_map": ["encoder.weight": shards[0], "decoder.weight": shards[1], "decoder.bias": shards[1]],
        ]
        try write(
            JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]),
            to: folder.appendingPathComponent("model.safetensors.index.json"))
    }

    /// A repository lacking tokenizer.json (which the service requires).
    static func withoutTokenizer(at folder: URL) throws {
        try writeCommon(at: folder, omitTokenizer: true)
        try write(safetensors(floatCount: 1000, seed: 5), to: folder.appendingPathComponent("model.safetensors"))
    }

    private static func writeCommon(at folder: URL, omitTokenizer: Bool) throws {
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        let files: [String: String] = [
            "config.json": #"{"model_type": "modernvbert", "hidden_size": 32, "embedding_dim": 128}"#,
            "tokenizer_config.json": #"{"model_max_length": 8192, "padding_side": "left"}"#,
            "special_tokens_map.json": #"{"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]"}"#,
            "preprocessor_config.json": #"{"image_processor_type": "Idefics3ImageProcessor", "size": {"longest_edge": 2048}}"#,
            "processor_config.json": #"{"image_seq_len": 64, "processor_class": "ColModernVBertProcessor"}"#,
            "README.md": "# A test model\n",
        ]
        for (name, text) in files { try write(Data(text.utf8), to: folder.appendingPathComponent(name)) }
        if !omitTokenizer {
            let vocab = (0..<200).map { "\"t\($0)\": \($0)" }.joined(separator: ", ")
            let tokenizer = #"{"version": "1.0", "model": {"type": "BPE", "vocab": {"# + vocab + #"}, "merges": []}}"#
            try write(Data(tokenizer.utf8), to: folder.appendingPathComponent("tokenizer.json"))
        }
        try write(pseudoRandom(count: 50_000, seed: 77), to: folder.appendingPathComponent("pytorch_model.bin"))
        try write(pseudoRandom(count: 2_000, seed: 78), to: folder.appendingPathComponent("images/example.png"))
    }

    /// A valid safetensors file: 8-byte little-endian header length, JSON header
    /// padded to 8 bytes, then one F32 tensor.
    static func safetensors(floatCount: Int, seed: UInt64) -> Data {
        let byteCount = floatCount * 4
        var header =
            #"{"weight":{"dtype":"F32","shape":[\#(floatCount)],"data_offsets":[0,\#(byteCount)]},"#
            + #""__metadata__":{"format":"pt"}}"#
        while header.utf8.count % 8 != 0 { header += " " }
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: header.utf8)
        data.append(pseudoRandom(count: byteCount, seed: seed))
        return data
    }

    /// SplitMix64 bytes: deterministic, incompressible enough for transfer tests.
    /// Generated a 64-bit word at a time (byte loops are slow in debug builds).
    static func pseudoRandom(count: Int, seed: UInt64) -> Data {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        var words = [UInt64](repeating: 0, count: (count + 7) / 8)
        words.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
                buffer[i] = (z ^ (z &>> 31)).littleEndian
            }
        }
        return words.withUnsafeBytes { Data($0.prefix(count)) }
    }

    private static func write(_ data: Data, to url: URL) throws {
        try data.write(to: url)
    }
}
