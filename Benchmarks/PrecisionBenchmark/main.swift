// Precision benchmark for scripts/bench_precision.sh: runs ColModernVBert's Swift forward pass in
// each COLPALI_DTYPE mode on the benchmark inputs, writes the embeddings for the fidelity comparison
// and times the vision tower against a plain-matmul GEMM roofline measured in the same process.
//   ENABLE_BENCHMARKS=1 swift build -c release --product PrecisionBenchmark
import ArgumentParser
import BenchmarkSupport
import ColModernVBert
import Foundation
import SafeTensors
import Torch

struct Arguments: ParsableArguments {
    @Argument(help: "The checkpoint folder.") var model: String
    @Argument(help: "The benchmark inputs (scripts/bench/make_inputs.py).") var inputs: String
    @Argument(help: "Where the embeddings of each mode are written.") var out: String
    @Option(help: "libtorch threads.") var threads = 2
    @Option(help: "Timed vision-tower runs per mode (0: one forward pass per mode, embeddings only).") var imageRuns = 0
    @Flag(help: "Only the rooflines and the timings (no embeddings written; scripts/bench_service.sh).") var timingOnly = false
    @Argument(help: "Modes: float32, mixed, bfloat16.") var modes: [String] = ["float32", "mixed", "bfloat16"]
}

let parsed = Arguments.parseOrExit()
let modelDirectory = URL(fileURLWithPath: parsed.model)
let inputs = URL(fileURLWithPath: parsed.inputs)
let out = URL(fileURLWithPath: parsed.out, isDirectory: true)
let threads = parsed.threads
let imageRuns = parsed.imageRuns
Torch.numThreads = threads

func options(_ mode: String) -> ModelOptions? {
    switch mode {
    case "float32": ModelOptions(device: .cpu, dtype: .float32)
    case "mixed": ModelOptions(device: .cpu, dtype: .float32, visionDType: .bfloat16)
    case "bfloat16": ModelOptions(device: .cpu, dtype: .bfloat16)
    default: nil
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func write(_ embeddings: [TokenVectors], to name: String) throws -> [Int] {
    var data = Data()
    for embedding in embeddings {
        embedding.values.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
    }
    try data.write(to: out.appendingPathComponent(name))
    return embeddings.map(\.tokenCount)
}

/// Milliseconds of each of `runs` calls of `body` (after one warm-up).
func times(_ runs: Int, _ body: () throws -> Void) rethrows -> [Double] {
    try body()
    var times: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return times
}

/// Milliseconds of the median of `runs` calls of `body` (after one warm-up).
func medianTime(_ runs: Int, _ body: () throws -> Void) rethrows -> Double { median(try times(runs, body)) }

/// Milliseconds of the best of `runs` calls of `body` (after one warm-up).
func best(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    try times(runs, body).min() ?? 0
}

do {
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let file = try SafeTensorsFile(path: inputs.path)
    let config = try ModelConfig.load(directory: modelDirectory)
    let vision = config.vision
    let tiles = try file.tensor("image.pixel_values").size(1)
    // The vision tower's and connector's FLOPs for this page (multiply-adds x 2).
    let rowsPerTile = vision.numPatches
    let rows = Double(tiles * rowsPerTile)
    let e = Double(vision.hiddenSize)
    let i = Double(vision.intermediateSize)
    let perLayer = 2 * rows * e * (3 * e + e + 2 * i) + 2 * 2 * Double(tiles) * Double(rowsPerTile * rowsPerTile) * e
    let patchEmbedding = 2 * rows * e * Double(vision.numChannels * vision.patchSize * vision.patchSize)
    let factor = Double(config.pixelShuffleFactor)
    let connector = 2 * (rows / (factor * factor)) * (e * factor * factor) * Double(config.text.hiddenSize)
    let towerFLOPs = Double(vision.numHiddenLayers) * perLayer + patchEmbedding + connector

    var report: [String: Any] = [
        "threads": Torch.numThreads, "tiles": tiles, "vision_tower_gflop": towerFLOPs / 1e9,
        "cpu": CPUFeatures.detect().explanation,
    ]
    // GEMM roofline: the tower's four linear shapes at its tile batch (2 tiles), weighted by FLOPs;
    // the bare product (x · Wᵀ, no bias: adding it is part of the non-matrix work), the median of 9
    // calls, as the tower's time is a median. (The best of 5 read 2165 GFLOP/s in bfloat16 once on
    // a Xeon with AMX where runs before and after it, and Python's, read 745-900.)
    let batchRows = 2 * rowsPerTile
    let shapes = [
        (vision.hiddenSize, 3 * vision.hiddenSize), (vision.hiddenSize, vision.hiddenSize),
        (vision.hiddenSize, vision.intermediateSize), (vision.intermediateSize, vision.hiddenSize),
    ]
    for dtype in [DType.float32, .bfloat16] {
        var seconds = 0.0
        var flops = 0.0
        for (inFeatures, outFeatures) in shapes {
            let x = try Tensor.randn([batchRows, inFeatures], dtype: dtype)
            let wT = try Tensor.randn([outFeatures, inFeatures], dtype: dtype).transpose(0, 1)
            let ms = try medianTime(9) { _ = try x.matmul(wT) }
            seconds += ms / 1e3
            flops += 2 * Double(batchRows * inFeatures * outFeatures)
        }
        report["gemm_gflops_\(dtype)"] = flops / seconds / 1e9
    }
    // fc1's epilogue at the same batch (float32): bias and tanh GELU as libtorch does them (the bias
    // added in its own pass, as addmm copies it in, then its GELU) against the bridge's one pass.
    let fc1Output = try Tensor.randn([batchRows, vision.intermediateSize])
    let fc1Bias = try Tensor.randn([vision.intermediateSize])
    let libtorchEpilogue = try best(5) { _ = try (fc1Output + fc1Bias).gelu(.tanh) }
    let scratch = try fc1Output.clone()
    let bridgeEpilogue = try best(5) { _ = try scratch.geluTanhInPlace(addingBias: fc1Bias) }
    report["fc1_epilogue_ms"] = ["libtorch": libtorchEpilogue, "bridge": bridgeEpilogue]
    // A 32-token query's attention block (float32, one layer): libtorch's operators as the model
    // ran them before (rotary embedding, SDPA, the transpose's copy) against the bridge's one pass;
    // mean of 500 calls, best of 7.
    let text = config.text
    let queryLength = 32
    let fused = try Tensor.randn([1, queryLength, 3 * text.numAttentionHeads * text.headDim])
    let cos = try Tensor.randn([1, 1, queryLength, text.headDim])
    let signedSin = try Tensor.randn([1, 1, queryLength, text.headDim])
    let scale = 1 / Double(text.headDim).squareRoot()
    func libtorchAttention() throws -> Tensor {
        let (heads, dim) = (text.numAttentionHeads, text.headDim)
        let qkv = try fused.view([1, queryLength, 3, heads, dim]).permute([2, 0, 3, 1, 4])
        let pair = try qkv.narrow(dim: 0, start: 0, length: 2)
        let swapped = try Tensor.cat(
            [pair.narrow(dim: -1, start: dim / 2, length: dim / 2), pair.narrow(dim: -1, start: 0, length: dim / 2)], dim: -1)
        let rotated = try pair * cos + swapped * signedSin
        let attended = try Tensor.scaledDotProductAttention(
            query: rotated.select(dim: 0, index: 0), key: rotated.select(dim: 0, index: 1), value: qkv.select(dim: 0, index: 2),
            scale: scale)
        return try attended.transpose(1, 2).reshape([1, queryLength, heads * dim])
    }
    func bridgeAttention() throws -> Tensor {
        try fused.shortAttention(cos: cos, signedSin: signedSin, mask: nil, heads: text.numAttentionHeads, scale: scale)
    }
    let attentionDifference = try (libtorchAttention() - bridgeAttention()).abs().amax().item()
    func perCall(_ body: () throws -> Tensor) throws -> Double {
        try best(7) { for _ in 0..<500 { _ = try body() } } / 500 * 1e3
    }
    report["query_attention_us"] = [
        "libtorch": try perCall(libtorchAttention), "bridge": try perCall(bridgeAttention), "max_abs_difference": attentionDifference,
    ]
    // The vision tower's attention at its 2-tile batch in bfloat16 (where the CPU has AVX512_BF16):
    // libtorch's SDPA with the layout the model gives it (view, permute, the transpose's copy)
    // against the bridge's tile attention; best of 5.
    if Tensor.tileAttentionAvailable {
        let (heads, dim) = (vision.numAttentionHeads, vision.headDim)
        let projected = try Tensor.randn([2, rowsPerTile, 3 * heads * dim], dtype: .bfloat16)
        let attentionScale = 1 / Double(dim).squareRoot()
        let libtorchTile = try best(5) {
            let parts = try projected.view([2, rowsPerTile, 3, heads, dim]).permute([2, 0, 3, 1, 4])
            _ = try Tensor.scaledDotProductAttention(
                query: parts.select(dim: 0, index: 0), key: parts.select(dim: 0, index: 1), value: parts.select(dim: 0, index: 2),
                scale: attentionScale
            ).transpose(1, 2).reshape([2, rowsPerTile, heads * dim])
        }
        let bridgeTile = try best(5) { _ = try projected.tileAttention(heads: heads, scale: attentionScale) }
        let attentionFLOPs = 2 * 2 * 2 * Double(rowsPerTile * rowsPerTile * heads * dim)
        report["tile_attention_ms"] = [
            "libtorch": libtorchTile, "bridge": bridgeTile,
            "bridge_gflops": attentionFLOPs / (bridgeTile / 1e3) / 1e9, "libtorch_gflops": attentionFLOPs / (libtorchTile / 1e3) / 1e9,
        ]
    }
    var modes: [String: Any] = [:]
    for mode in parsed.modes {
        guard let modeOptions = options(mode) else { throw ColModernVBertError.invalidInput("unknown mode \(mode)") }
        let timing = try ForwardBenchmark(
            modelDirectory: modelDirectory, inputs: inputs, options: modeOptions, warmup: 1, queryRuns: 3, imageRuns: imageRuns
        ).run()
        let visionMs = median(timing.imageVisionMilliseconds)
        let figures: [String: Any] = [
            "vision_ms": visionMs, "text_ms": median(timing.imageTextMilliseconds),
            "image_ms": median(timing.imageMilliseconds), "query_ms": median(timing.queryMilliseconds),
            "vision_gflops": visionMs > 0 ? towerFLOPs / (visionMs / 1e3) / 1e9 : 0,
        ]
        if parsed.timingOnly {
            modes[mode] = figures
            continue
        }
        let model = try ColModernVBertModel.load(directory: modelDirectory, options: modeOptions)
        let start = DispatchTime.now().uptimeNanoseconds
        let image = try model.embedImages(
            inputIds: file.tensor("image.input_ids"), attentionMask: file.tensor("image.attention_mask"),
            pixelValues: file.tensor("image.pixel_values"))
        let firstImageMs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let query = try model.embedQueries(inputIds: file.tensor("query.input_ids"), attentionMask: file.tensor("query.attention_mask"))
        modes[mode] = figures.merging([
            "precision": model.precision.summary,
            "image_tokens": try write(image, to: "\(mode).image.f32"), "query_tokens": try write(query, to: "\(mode).query.f32"),
            "dim": model.dim, "first_image_ms": firstImageMs,
        ]) { a, _ in a }
    }
    report["modes"] = modes
    let json = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
    try json.write(to: out.appendingPathComponent("swift.json"))
    print(String(decoding: json, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("precision driver failed: \(error)\n".utf8))
    exit(1)
}
