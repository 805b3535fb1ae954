import ColModernVBert
import Foundation
import Imaging
import Processing
import Tokenizers
import Torch

/// The real engine: processor + image preprocessing + ColModernVBert on libtorch.
///
/// Input checks, tokenization, decoding and preprocessing run on the request's own thread
/// (so bad input fails fast and several requests preprocess in parallel); forward passes
/// go through batchers that share one lock, so concurrent requests are combined and only
/// one forward pass runs at a time.
public final class ModelEngine: EmbeddingEngine, @unchecked Sendable {
    public let info: EngineInfo
    private let model: ColModernVBertModel
    private let processor: Processor
    private let imageProcessor: Idefics3ImageProcessor
    private let imageConfig: Idefics3ProcessorConfig
    private let decoder: ImageDecoder
    private let queryBatcher: Batcher<[Int], TokenVectors>
    private let imageBatcher: Batcher<ColModernVBert.ImagePrompt, TokenVectors>

    public init(directory: URL, modelID: String, configuration: ServiceConfiguration) throws {
        let device = configuration.resolvedDevice
        if device == .cpu { Torch.setNumThreads(configuration.cpuThreads) }
        let model = try ColModernVBertModel.load(
            directory: directory,
            options: ModelOptions(
                device: device, dtype: configuration.dtype, cpuLinearKernel: configuration.cpuLinearKernel,
                visionDType: configuration.visionDType, cpu: configuration.cpuISALimit.map { CPUFeatures.detect().limited(to: $0) }))
        let processor = try Processor(checkpointDirectory: directory)
        let imageConfig = try Idefics3ProcessorConfig.load(directory: directory)
        guard let imageProcessor = Idefics3ImageProcessor(config: imageConfig, maxThreads: 1) else {
            throw InputError("image processor configuration in \(directory.path) is not usable")
        }
        guard processor.imageTokenID == model.imageTokenId, processor.configuration.imageSeqLen == model.imageSeqLen else {
            throw ModelEngineError.inconsistentCheckpoint(
                "processor uses <image> id \(processor.imageTokenID) and \(processor.configuration.imageSeqLen) tokens per tile, "
                    + "the model \(model.imageTokenId) and \(model.imageSeqLen)")
        }
        self.model = model
        self.processor = processor
        self.imageConfig = imageConfig
        self.imageProcessor = imageProcessor
        decoder = ImageDecoder(maxPixels: configuration.maxImagePixels)
        info = EngineInfo(
            modelID: modelID, device: device.description, dtype: model.dtype.torchName, flashAttention: false,
            dim: model.dim, imageTokenID: model.imageTokenId, imageSeqLen: model.imageSeqLen,
            visionDType: model.precision.dtypes.vision.torchName, cpuISA: model.precision.cpuISA?.rawValue,
            precision: model.precision.summary)

        let serial = NSLock()
        let maxBatch = configuration.maxBatchSize
        queryBatcher = Batcher(maxBatch: maxBatch, serial: serial) { sequences in
            try stride(from: 0, to: sequences.count, by: maxBatch).flatMap { start in
                try model.embedQueries(Array(sequences[start..<min(start + maxBatch, sequences.count)])).map(TokenVectors.init)
            }
        }
        // Images are far larger than queries: a handful per forward pass bounds memory.
        let imagesPerPass = max(1, min(maxBatch, 4))
        imageBatcher = Batcher(maxBatch: imagesPerPass, serial: serial) { prompts in
            try stride(from: 0, to: prompts.count, by: imagesPerPass).flatMap { start in
                try model.embedImages(Array(prompts[start..<min(start + imagesPerPass, prompts.count)])).map(TokenVectors.init)
            }
        }
    }

    public func embedQueries(_ queries: [String]) throws -> [TokenVectors] {
        let sequences = try queries.enumerated().map { index, query in
            do {
                return try processor.queryIDs(query)
            } catch let error as ProcessingError {
                throw InputError(Self.describe(error, item: "query \(index)"))
            } catch let error as TokenizerError {
                throw InputError("query \(index): \(error)")
            }
        }
        return try queryBatcher.run(sequences)
    }

    public func embedImages(_ images: [[UInt8]]) throws -> [ImageEmbedding] {
        var prompts: [ColModernVBert.ImagePrompt] = []
        var layouts: [(prompt: Processing.ImagePrompt, width: Int, height: Int)] = []
        for (index, bytes) in images.enumerated() {
            let rgb: RGBImage
            do {
                rgb = try decoder.decodeRGB(bytes)
            } catch {
                throw InputError("image \(index): \(error)")
            }
            let processed = imageProcessor.process(rgb)
            let grid = try ImageGrid(processed)
            let prompt: Processing.ImagePrompt
            do {
                prompt = try processor.imagePrompt(grid)
            } catch let error as TokenizerError {
                throw InputError("image \(index): \(error)")
            }
            let tiles = try processed.pixelValues.withUnsafeBytes { bytes in
                try Tensor(bytes: bytes, shape: processed.shape, dtype: .float32)
            }
            prompts.append(ColModernVBert.ImagePrompt(inputIds: prompt.inputIDs, tiles: tiles))
            layouts.append((prompt, rgb.width, rgb.height))
        }
        let vectors = try imageBatcher.run(prompts)
        return zip(vectors, layouts).map { vectors, layout in
            ImageEmbedding(
                vectors: vectors, imagePatchIndices: layout.prompt.imageTokenPositions,
                tileRows: layout.prompt.grid.rows, tileColumns: layout.prompt.grid.cols,
                imageWidth: layout.width, imageHeight: layout.height)
        }
    }

    public func patchGrid(width: Int, height: Int) -> PatchesResult {
        do {
            let grid = try Imaging.PatchGrid.compute(width: width, height: height, config: imageConfig, imageSeqLen: info.imageSeqLen)
            return .grid(x: grid.patchesX, y: grid.patchesY)
        } catch {
            return .failure(error.description)
        }
    }

    private static func describe(_ error: ProcessingError, item: String) -> String {
        switch error {
        case .imageTokenInQuery: "\(item) contains the reserved text <image>"
        default: "\(item): \(error)"
        }
    }
}

public enum ModelEngineError: Error, CustomStringConvertible {
    case inconsistentCheckpoint(String)

    public var description: String {
        switch self {
        case .inconsistentCheckpoint(let reason): "checkpoint is inconsistent: \(reason)"
        }
    }
}

extension TokenVectors {
    init(_ embeddings: TokenEmbeddings) {
        self.init(tokenCount: embeddings.tokenCount, dim: embeddings.dim, values: embeddings.values)
    }
}
