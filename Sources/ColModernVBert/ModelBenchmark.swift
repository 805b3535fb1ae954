import Foundation
import SafeTensors
import Torch

/// Times the Swift forward pass on benchmark inputs, for `scripts/bench_model.sh` (which times the
/// Python reference on the same checkpoint and inputs and prints both).
///
/// Inputs file (safetensors): `query.input_ids` / `query.attention_mask` [1, Lq], and
/// `image.input_ids` / `image.attention_mask` [1, Li] with `image.pixel_values` [1, T, C, S, S].
public enum ModelBenchmark {
    public struct Report: Sendable, Codable {
        public var threads: Int
        public var loadSeconds: Double
        public var queryTokens: Int
        public var imageTokens: Int
        public var imageTiles: Int
        /// Wall time of each timed run, milliseconds.
        public var queryMilliseconds: [Double]
        public var imageMilliseconds: [Double]
        /// Process CPU time (all threads) of each timed run: less disturbed than wall time by other
        /// load on a shared machine.
        public var queryCPUMilliseconds: [Double]
        public var imageCPUMilliseconds: [Double]
        /// Per image run: the vision tower with the connector, and the text tower with the head.
        public var imageVisionMilliseconds: [Double]
        public var imageTextMilliseconds: [Double]
        /// Resident set after loading the weights, and the process's peak, in bytes.
        public var residentAfterLoadBytes: Int
        public var peakResidentBytes: Int
    }

    public static func run(
        modelDirectory: URL, inputs: URL, options: ModelOptions = ModelOptions(device: .cpu, dtype: .float32),
        threads: Int? = nil, warmup: Int = 2, queryRuns: Int = 10, imageRuns: Int = 3
    ) throws -> Report {
        if let threads, threads > 0 { Torch.numThreads = threads }
        let file = try SafeTensorsFile(path: inputs.path)
        let queryIds = try file.tensor("query.input_ids")
        let queryMask = try file.tensor("query.attention_mask")
        let imageIds = try file.tensor("image.input_ids")
        let imageMask = try file.tensor("image.attention_mask")
        let pixels = try file.tensor("image.pixel_values")

        let clock = ContinuousClock()
        var model: ColModernVBertModel?
        let load = try clock.measure {
            model = try ColModernVBertModel.load(directory: modelDirectory, options: options)
        }
        guard let model else { throw ColModernVBertError.invalidInput("model did not load") }
        let afterLoad = residentMemory().current

        func milliseconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) * 1e-15
        }
        var cpuTimes: [Double] = []
        func time(_ runs: Int, _ body: () throws -> Void) throws -> [Double] {
            guard runs > 0 else { return [] }
            for _ in 0..<warmup { try body() }
            cpuTimes = []
            return try (0..<runs).map { _ in
                let cpuStart = processCPUMilliseconds()
                let wall = milliseconds(try clock.measure { try body() })
                cpuTimes.append(processCPUMilliseconds() - cpuStart)
                return wall
            }
        }
        let query = try time(queryRuns) {
            _ = try model.embedQueries(inputIds: queryIds, attentionMask: queryMask)
        }
        let queryCPU = cpuTimes
        cpuTimes = []
        var visionTimes: [Double] = []
        var textTimes: [Double] = []
        var timedRun = 0
        let image = try time(imageRuns) {
            // embedImages' steps, timed separately once warm.
            let batch = try ModelInput(inputIds: imageIds, attentionMask: imageMask, config: model.config)
            let tiles = try ImageTiles(pixelValues: pixels, batch: batch.batchSize, config: model.config.vision)
            try batch.checkImageTokens(tilesPerItem: tiles.realTilesPerItem, imageSeqLen: model.config.imageSeqLen)
            var features: Tensor?
            let vision = try clock.measure { features = try tiles.real.map { try model.imageFeatures($0) } }
            var output: Tensor?
            let text = try clock.measure { output = try model.run(batch, imageFeatures: features) }
            if let output { _ = try model.split(output, batch: batch) }
            timedRun += 1
            if timedRun > warmup {
                visionTimes.append(milliseconds(vision))
                textTimes.append(milliseconds(text))
            }
        }
        return Report(
            threads: Torch.numThreads,
            loadSeconds: Double(load.components.seconds) + Double(load.components.attoseconds) * 1e-18,
            queryTokens: queryIds.size(1), imageTokens: imageIds.size(1), imageTiles: pixels.size(1),
            queryMilliseconds: query, imageMilliseconds: image,
            queryCPUMilliseconds: queryCPU, imageCPUMilliseconds: cpuTimes,
            imageVisionMilliseconds: visionTimes, imageTextMilliseconds: textTimes,
            residentAfterLoadBytes: afterLoad, peakResidentBytes: residentMemory().peak)
    }

    /// CPU time used by this process so far, all threads.
    static func processCPUMilliseconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) * 1e3 + Double(spec.tv_nsec) * 1e-6
    }

    /// Current and peak resident set size of this process (Linux /proc/self/status VmRSS, VmHWM), bytes.
    public static func residentMemory() -> (current: Int, peak: Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func kilobytes(_ key: String) -> Int {
            for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
                let digits = line.dropFirst(key.count + 1).filter(\.isNumber)
                return (Int(digits) ?? 0) * 1024
            }
            return 0
        }
        return (kilobytes("VmRSS"), kilobytes("VmHWM"))
    }
}
