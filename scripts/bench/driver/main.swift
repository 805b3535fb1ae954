// Benchmark driver for scripts/bench_model.sh: times ColModernVBert's Swift forward pass.
// usage: BenchModelDriver MODEL_DIR INPUTS THREADS WARMUP QUERY_RUNS IMAGE_RUNS [VISION_TILE_BATCH [KERNEL]]
// KERNEL: the CPU linear kernel (libtorch, panels, oneDNN; default: the model's default).
import ColModernVBert
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 7, let threads = Int(arguments[3]), let warmup = Int(arguments[4]),
      let queryRuns = Int(arguments[5]), let imageRuns = Int(arguments[6])
else {
    FileHandle.standardError.write(Data("usage: BenchModelDriver MODEL_DIR INPUTS THREADS WARMUP QUERY_RUNS IMAGE_RUNS [TILE_BATCH]\n".utf8))
    exit(2)
}
let tileBatch = arguments.count > 7 ? Int(arguments[7]) ?? 2 : 2
var options = ModelOptions(device: .cpu, dtype: .float32, visionTileBatch: tileBatch)
if arguments.count > 8 {
    guard let kernel = CPULinearKernel(rawValue: arguments[8]) else {
        FileHandle.standardError.write(Data("unknown kernel \(arguments[8]); one of \(CPULinearKernel.allCases.map(\.rawValue))\n".utf8))
        exit(2)
    }
    options.cpuLinearKernel = kernel
}
do {
    let report = try ModelBenchmark.run(
        modelDirectory: URL(fileURLWithPath: arguments[1]), inputs: URL(fileURLWithPath: arguments[2]),
        options: options,
        threads: threads, warmup: warmup, queryRuns: queryRuns, imageRuns: imageRuns)
    print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
