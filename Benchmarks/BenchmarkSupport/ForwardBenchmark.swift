import ColModernVBert
import Foundation
import SafeTensors
import Torch

/// Times the Swift forward pass on the benchmark inputs: a query through `embedQueries`, and a page
/// through the service's image path (`imageBatch` → `imageFeatures` → `embed`, the stages of
/// `embedImages(inputIds:tiles:)`), the towers timed apart.
///
/// Inputs file (safetensors, scripts/bench/make_inputs.py): `query.input_ids` /
/// `query.attention_mask` [1, Lq], and `image.input_ids` / `image.attention_mask` [1, Li] with
/// `image.pixel_values` [1, T, C, S, S]. `queryTokens` stretches or cuts the query to that many
/// tokens (its first and last token kept, the ones between repeated), e.g. the 32 tokens the
/// service's prompt makes of scripts/bench_service.sh's query, where the inputs file has 20.
public struct ForwardBenchmark {
    public var modelDirectory: URL
    public var inputs: URL
    public var options: ModelOptions
    public var warmup: Int
    public var queryRuns: Int
    public var imageRuns: Int
    public var queryTokens: Int?

    public init(
        modelDirectory: URL, inputs: URL, options: ModelOptions, warmup: Int, queryRuns: Int, imageRuns: Int,
        queryTokens: Int? = nil
    ) {
        self.modelDirectory = modelDirectory
        self.inputs = inputs
        self.options = options
        self.warmup = warmup
        self.queryRuns = queryRuns
        self.imageRuns = imageRuns
        self.queryTokens = queryTokens
    }

    public func run() throws -> ForwardReport {
        let file = try SafeTensorsFile(path: inputs.path)
        var queryIds = try file.tensor("query.input_ids")
        var queryMask = try file.tensor("query.attention_mask")
        if let queryTokens {
            queryIds = try Self.stretched(queryIds, to: queryTokens)
            queryMask = try Tensor.ones([1, queryTokens], dtype: queryMask.dtype)
        }
        let imageIds = try Self.ownTokens(file.tensor("image.input_ids"), mask: file.tensor("image.attention_mask"))
        // The page's tiles [T, C, S, S], in place in the mapped file as the service's are in its pixel memory.
        let tiles = try file.tensor("image.pixel_values").select(dim: 0, index: 0)

        let clock = ContinuousClock()
        var loaded: ColModernVBertModel?
        let load = try clock.measure { loaded = try ColModernVBertModel.load(directory: modelDirectory, options: options) }
        guard let model = loaded else { throw BenchmarkFailure("the model in \(modelDirectory.path) did not load") }
        let afterLoad = ProcessMetrics.residentMemory().current

        let query = try time(queryRuns) { _ = try model.embedQueries(inputIds: queryIds, attentionMask: queryMask) }
        var vision: [Double] = []
        var text: [Double] = []
        let image = try time(imageRuns) { timed in
            let batch = try model.imageBatch(inputIds: [imageIds], tiles: [tiles])
            var features: Tensor?
            let visionTime = try clock.measure { features = try model.imageFeatures(of: batch) }
            let textTime = try clock.measure { _ = try model.embed(batch, imageFeatures: features) }
            if timed {
                vision.append(visionTime.milliseconds)
                text.append(textTime.milliseconds)
            }
        }
        return ForwardReport(
            threads: Torch.numThreads, loadSeconds: load.milliseconds / 1e3,
            queryTokens: queryIds.size(1), imageTokens: imageIds.count, imageTiles: tiles.size(0),
            queryMilliseconds: query.wall, imageMilliseconds: image.wall,
            queryCPUMilliseconds: query.cpu, imageCPUMilliseconds: image.cpu,
            imageVisionMilliseconds: vision, imageTextMilliseconds: text,
            residentAfterLoadBytes: afterLoad, peakResidentBytes: ProcessMetrics.residentMemory().peak)
    }

    /// `warmup` untimed runs, then `runs` timed ones (wall and process CPU time, milliseconds).
    /// `body` learns whether its run is timed.
    private func time(_ runs: Int, _ body: (_ timed: Bool) throws -> Void) throws -> (wall: [Double], cpu: [Double]) {
        guard runs > 0 else { return ([], []) }
        for _ in 0..<warmup { try body(false) }
        var wall: [Double] = []
        var cpu: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<runs {
            let cpuStart = ProcessMetrics.cpuMilliseconds()
            wall.append(try clock.measure { try body(true) }.milliseconds)
            cpu.append(ProcessMetrics.cpuMilliseconds() - cpuStart)
        }
        return (wall, cpu)
    }

    private func time(_ runs: Int, _ body: () throws -> Void) throws -> (wall: [Double], cpu: [Double]) {
        try time(runs) { _ in try body() }
    }

    /// The ids of row 0 where its attention mask is set (the benchmark prompt has no padding).
    /// ids [1, L] (L >= 3) → [1, count]: the first id, the middle ones repeated or cut, the last id.
    static func stretched(_ ids: Tensor, to count: Int) throws -> Tensor {
        guard ids.rank == 2, ids.size(0) == 1, ids.size(1) >= 3, count >= 2 else {
            throw BenchmarkFailure("cannot make \(count) query tokens of query.input_ids \(ids.shape)")
        }
        let length = ids.size(1)
        let middle = try ids.narrow(dim: 1, start: 1, length: length - 2)
        let copies = (count - 2 + middle.size(1) - 1) / middle.size(1)
        let filled = try Tensor.cat(Array(repeating: middle, count: max(copies, 1)), dim: 1).narrow(dim: 1, start: 0, length: count - 2)
        return try Tensor.cat(
            [ids.narrow(dim: 1, start: 0, length: 1), filled, ids.narrow(dim: 1, start: length - 1, length: 1)], dim: 1)
    }

    private static func ownTokens(_ ids: Tensor, mask: Tensor) throws -> [Int] {
        guard ids.rank == 2, ids.size(0) == 1, mask.shape == ids.shape else {
            throw BenchmarkFailure("image.input_ids must be [1, L] with a mask of the same shape, got \(ids.shape), \(mask.shape)")
        }
        let values = try ids.int64s()
        let keep = try mask.ne(0).bools()
        return zip(values, keep).compactMap { $1 ? Int($0) : nil }
    }
}

public struct BenchmarkFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
