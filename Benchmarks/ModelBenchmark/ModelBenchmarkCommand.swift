import ArgumentParser
import BenchmarkSupport
import ColModernVBert
import Foundation
import Torch

/// `ModelBenchmark MODEL_DIR INPUTS [options]`: prints one JSON `ForwardReport` on stdout.
/// scripts/bench_model.sh builds it with `ENABLE_BENCHMARKS=1` and runs it next to the Python reference.
@main
struct ModelBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ModelBenchmark",
        abstract: "Times the ColModernVBert forward pass (CPU) on benchmark inputs; prints a JSON report.")

    @Argument(help: "Model folder (config.json and safetensors weights).")
    var modelDirectory: String

    @Argument(help: "Inputs file written by scripts/bench/make_inputs.py.")
    var inputs: String

    @Option(help: "libtorch threads (0: libtorch's default).")
    var threads = 1

    @Option(help: "Untimed runs before the timed ones.")
    var warmup = 2

    @Option(help: "Timed query runs.")
    var queryRuns = 10

    @Option(help: "Query length in tokens (default: the inputs file's; the service makes 32 of bench_service.sh's query).")
    var queryTokens: Int?

    @Option(help: "Timed page runs.")
    var imageRuns = 3

    @Option(help: "Tiles per vision-tower pass (0: all at once).")
    var tileBatch = 2

    @Option(help: "The float32 CPU linear kernel.")
    var kernel = CPULinearKernel.panels

    @Option(help: "The compute dtype.")
    var dtype = DType.float32

    @Option(help: "The vision tower's and connector's dtype (bfloat16 with --dtype float32: the mixed mode).")
    var visionDtype: DType?

    @Option(
        help: ArgumentHelp(
            "Folder of the shared derived-weights file, as the service's $COLPALI_RUN_DIR/weights (packed once, then mapped).",
            discussion: "Without it the packed weights are private to this process."))
    var sharedWeights: String?

    @Flag(
        inversion: .prefixedNo,
        help: "Short text sequences' attention in the bridge's one pass (--no-short-attention: libtorch's operators).")
    var shortAttention = true

    @Flag(
        inversion: .prefixedNo,
        help: "Long float32 text sequences' attention on the bridge's AVX-512 kernel (--no-long-attention: libtorch's SDPA).")
    var longAttention = true

    @Option(help: "Caps the CPU tier the model chooses its paths for (avx2, avx512, avx512_bf16, amx_bf16), as COLPALI_CPU_ISA does.")
    var cpuIsa: String?

    func validate() throws {
        if let cpuIsa, CPUISA(parsing: cpuIsa) == nil { throw ValidationError("unknown CPU tier \(cpuIsa)") }
        guard threads >= 0, warmup >= 0, queryRuns >= 0, imageRuns >= 0, tileBatch >= 0 else {
            throw ValidationError("counts must not be negative")
        }
        if let queryTokens, queryTokens < 2 { throw ValidationError("--query-tokens must be at least 2") }
        guard dtype.isFloatingPoint else { throw ValidationError("the compute dtype must be floating point, not \(dtype)") }
    }

    func run() throws {
        if threads > 0 { Torch.numThreads = threads }
        var options = ModelOptions(
            device: .cpu, dtype: dtype, visionTileBatch: tileBatch, cpuLinearKernel: kernel,
            sharedWeightsDirectory: sharedWeights.map { URL(fileURLWithPath: $0, isDirectory: true) }, visionDType: visionDtype)
        options.shortAttention = shortAttention
        options.longAttention = longAttention
        if let tier = cpuIsa.flatMap(CPUISA.init(parsing:)) { options.cpu = CPUFeatures.detect().limited(to: tier) }
        let report = try ForwardBenchmark(
            modelDirectory: URL(fileURLWithPath: modelDirectory), inputs: URL(fileURLWithPath: inputs), options: options,
            warmup: warmup, queryRuns: queryRuns, imageRuns: imageRuns, queryTokens: queryTokens
        ).run()
        print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
    }
}

extension CPULinearKernel: ExpressibleByArgument {}
extension DType: ExpressibleByArgument {
    public static var allValueStrings: [String] { [DType.float32, .bfloat16, .float16].map(\.rawValue) }
}
