import ArgumentParser
import BenchmarkSupport
import ColModernVBert
import EmbeddingService
import FastCGI
import Foundation
import Imaging
import Processing
import Tokenizers

/// `EncodingBenchmark [options]`: the `/embed/images` answer for one page, through the
/// service's own routes (a stand-in engine returns the page's vectors, so no model runs):
/// bytes and time of the JSON, base64 float32 and base64 float16 encodings, and vectors, bytes
/// and time for pool factors 1, 2, 3. The page's token layout (text tokens, `<image>` positions)
/// is the real prompt's for the image size given; the vectors are random unit vectors, which is
/// enough for bytes and time (not for what pooling keeps of retrieval quality).
/// With `--output`, writes each body there for scripts/bench/decode_embeddings.py to time a client's decode.
@main
struct EncodingBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "EncodingBenchmark", abstract: "Bytes and time of a page's /embed/images answer per encoding and pool factor.")

    @Option(help: "Folder with tokenizer.json and tokenizer_config.json.")
    var tokenizer = "Tests/Fixtures/tokenizer"

    @Option(help: "Folder with processor_config.json / preprocessor_config.json (the tile geometry).")
    var processorConfig = "Tests/Fixtures/images/configs/published"

    @Option(help: "Page size in pixels (850 x 1100, a letter page at 100 dpi, is 4 x 4 tiles + the global view: 1088 patches).")
    var width = 850
    @Option var height = 1100

    @Option(help: "Vector size (the published model's projection).")
    var dim = 128

    @Option(help: "Timed runs of each case (the median is reported).")
    var runs = 7

    @Option(help: "Folder to write each response body into.")
    var output: String?

    func run() throws {
        let configDirectory = URL(fileURLWithPath: processorConfig)
        let processor = try Processor(
            tokenizer: Tokenizer(directory: URL(fileURLWithPath: tokenizer)),
            configuration: ProcessorConfiguration(directory: configDirectory))
        guard let tiler = Idefics3ImageProcessor(config: try Idefics3ProcessorConfig.load(directory: configDirectory)) else {
            throw ValidationError("\(processorConfig): the image processor configuration is not usable")
        }
        let prompt = try processor.imagePrompt(tiler.layout(width: width, height: height))
        let engine = PageEngine(
            dim: dim, tokens: prompt.inputIDs.count, patches: prompt.imageTokenPositions, width: width, height: height)
        print(
            "page \(width)x\(height): \(prompt.inputIDs.count) tokens, \(prompt.imageTokenPositions.count) image patches, dim \(dim)"
                + " (random unit vectors); median of \(runs) runs, route time includes the multipart parse")
        let router = Routes(
            state: ServiceState(.ready(engine)), limits: RequestLimits(maxQueries: 8, maxImages: 8, maxBodyBytes: 1 << 24),
            apiVersion: "bench", swaggerUIDirectory: nil
        ).router()

        let cases: [(name: String, query: String)] = [
            ("json", ""), ("base64-float32", "encoding=base64"), ("base64-float16", "encoding=base64&dtype=float16"),
            ("json-pool2", "pool_factor=2"), ("json-pool3", "pool_factor=3"),
            ("base64-float16-pool2", "encoding=base64&dtype=float16&pool_factor=2"),
            ("base64-float16-pool3", "encoding=base64&dtype=float16&pool_factor=3"),
        ]
        print("case                    vectors  image  bytes       ms")
        for (name, query) in cases {
            let request = Self.request(query: query)
            var body: [UInt8] = []
            var times: [Double] = []
            for _ in 0..<runs {
                let started = ContinuousClock.now
                let response = router.handle(request)
                times.append(Self.milliseconds(ContinuousClock.now - started))
                guard response.status == 200 else { throw ValidationError("\(name): status \(response.status)") }
                body = response.body
            }
            let item = try Self.firstItem(body)
            let vectors = item.tokens
            print(
                name.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + String(format: "%7d  %5d  %9d  %7.2f", vectors, item.patches, body.count, Self.median(times)))
            if let output {
                try Data(body).write(to: URL(fileURLWithPath: output).appendingPathComponent("\(name).json"))
            }
        }

        // The pooler alone on the page's patch vectors.
        let page = try engine.embedImages([[]])[0]
        let patchValues = page.imagePatchIndices.flatMap { page.vectors.row($0) }
        for factor in [2, 3] {
            var times: [Double] = []
            var cpu: [Double] = []
            var clusters = 0
            for _ in 0..<runs {
                let started = ContinuousClock.now
                let startedCPU = ProcessMetrics.cpuMilliseconds()
                clusters = TokenPooler.pool(patchValues, count: page.imagePatchIndices.count, dim: dim, factor: factor).clusters.count
                cpu.append(ProcessMetrics.cpuMilliseconds() - startedCPU)
                times.append(Self.milliseconds(ContinuousClock.now - started))
            }
            // CPU time too: on a shared machine the wall time also counts other processes' turns.
            print(
                String(
                    format: "TokenPooler factor %d: %d clusters, %.1f ms wall, %.1f ms CPU (one thread)", factor, clusters,
                    Self.median(times), Self.median(cpu)))
        }
    }

    static func request(query: String) -> HTTPRequest {
        let text =
            "--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--B--\r\n"
        var headers = HTTPHeaders()
        headers.set("content-type", "multipart/form-data; boundary=B")
        return HTTPRequest(method: .post, path: "/embed/images", query: query, headers: headers, body: Array(text.utf8))
    }

    static func firstItem(_ body: [UInt8]) throws -> (tokens: Int, patches: Int) {
        let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        guard let item = (object?["embeddings"] as? [[String: Any]])?.first, let patches = item["image_patch_len"] as? Int else {
            throw ValidationError("unexpected response shape")
        }
        if let rows = item["embedding"] as? [Any] { return (rows.count, patches) }
        if let shape = (item["embedding"] as? [String: Any])?["shape"] as? [Int], let tokens = shape.first { return (tokens, patches) }
        throw ValidationError("unexpected embedding shape")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}

/// Returns the same page for every image: random unit vectors (seeded) in the prompt's layout.
struct PageEngine: EmbeddingEngine {
    let dim: Int
    let tokens: Int
    let patches: [Int]
    let width: Int
    let height: Int
    let values: [Float]

    init(dim: Int, tokens: Int, patches: [Int], width: Int, height: Int) {
        self.dim = dim
        self.tokens = tokens
        self.patches = patches
        self.width = width
        self.height = height
        var state: UInt64 = 0x1234_5678_9ABC_DEF1
        var values = (0..<(tokens * dim)).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
        }
        for row in 0..<tokens {
            let norm = (0..<dim).reduce(Float(0)) { $0 + values[row * dim + $1] * values[row * dim + $1] }.squareRoot()
            for j in 0..<dim { values[row * dim + j] /= norm }
        }
        self.values = values
    }

    var info: EngineInfo {
        EngineInfo(
            modelID: "bench", device: "cpu", dtype: "torch.float32", flashAttention: false, dim: dim, imageTokenID: 0, imageSeqLen: 64)
    }

    func embedQueries(_ queries: [String]) throws -> [TokenVectors] { [] }

    func embedImages(_ images: [[UInt8]]) throws -> [ImageEmbedding] {
        images.map { _ in
            ImageEmbedding(
                vectors: TokenVectors(tokenCount: tokens, dim: dim, values: values), imagePatchIndices: patches, tileRows: 0,
                tileColumns: 0, imageWidth: width, imageHeight: height)
        }
    }

    func patchGrid(width: Int, height: Int) -> PatchesResult { .failure("not benchmarked") }
}
