import ColModernVBert
import FastCGI
import Foundation
import Imaging
import POSIX
import Processing
import Tokenizers
import Torch

/// The real engine: processor + image preprocessing + ColModernVBert on libtorch.
///
/// Input checks, tokenization, decoding and preprocessing (Processing's `ImagePreprocessor`) run on
/// the request's own thread, so bad input fails fast and requests preprocess in parallel, also
/// while another request's forward pass runs; forward passes go through batchers that share one
/// lock, so concurrent requests are combined and only one forward pass runs at a time. An image
/// reaches the model as its `ImageInput`'s pixel memory wrapped in a tensor, not copied.
public final class ModelEngine: EmbeddingEngine, @unchecked Sendable {
    public let info: EngineInfo
    /// Where the packed text weights came from (shared file or private copies), for the log.
    public let sharedWeights: String?
    private let model: ColModernVBertModel
    private let processor: Processor
    private let images: ImagePreprocessor
    private let imageConfig: Idefics3ProcessorConfig
    private let queryBatcher: Batcher<[Int], TokenVectors>
    private let imageBatcher: Batcher<ImageInput, TokenVectors>
    private let metrics: EngineMetrics
    /// The thread every forward pass runs on.
    private let compute: SerialThread

    public init(directory: URL, modelID: String, configuration: ServiceConfiguration) throws {
        let device = configuration.resolvedDevice
        // Loading (packing runs libtorch's parallel operators too) and every forward pass on one
        // thread, whichever request thread leads a batch: the worker then has one OpenMP team
        // (see `SerialThread`).
        let compute = try SerialThread(subject: "forward pass thread")
        self.compute = compute
        let model = try compute.run {
            if device == .cpu { Torch.setNumThreads(configuration.cpuThreads) }
            return try ColModernVBertModel.load(
                directory: directory,
                options: ModelOptions(
                    device: device, dtype: configuration.dtype, cpuLinearKernel: configuration.cpuLinearKernel,
                    sharedWeightsDirectory: configuration.runDirectory.appendingPathComponent("weights", isDirectory: true),
                    visionDType: configuration.visionDType,
                    cpu: configuration.cpuISALimit.map { CPUFeatures.detect().limited(to: $0) }))
        }
        sharedWeights = model.sharedWeights
        let processor = try Processor(checkpointDirectory: directory)
        let imageConfig = try Idefics3ProcessorConfig.load(directory: directory)
        guard let imageProcessor = Idefics3ImageProcessor(config: imageConfig, backend: configuration.imageBackend, maxThreads: 1) else {
            throw ModelEngineError.inconsistentCheckpoint("image processor configuration in \(directory.path) is not usable")
        }
        guard processor.imageTokenID == model.imageTokenId, processor.configuration.imageSeqLen == model.imageSeqLen else {
            throw ModelEngineError.inconsistentCheckpoint(
                "processor uses <image> id \(processor.imageTokenID) and \(processor.configuration.imageSeqLen) tokens per tile, "
                    + "the model \(model.imageTokenId) and \(model.imageSeqLen)")
        }
        self.model = model
        self.processor = processor
        self.imageConfig = imageConfig
        images = ImagePreprocessor(
            processor: processor, decoder: ImageDecoder(maxPixels: configuration.maxImagePixels), tiler: imageProcessor)
        info = EngineInfo(
            modelID: modelID, device: device.description, dtype: model.dtype.torchName, flashAttention: false,
            dim: model.dim, imageTokenID: model.imageTokenId, imageSeqLen: model.imageSeqLen,
            visionDType: model.precision.dtypes.vision.torchName, cpuISA: model.precision.cpuISA?.rawValue,
            textKernel: device == .cpu ? model.textLinearKernel : nil, visionKernel: device == .cpu ? model.visionLinearKernel : nil,
            precision: model.precision.summary
                + (device == .cpu
                    ? "; text linear kernel \(model.textLinearKernel); vision linear kernel \(model.visionLinearKernel)" : ""))

        let serial = Locked(())
        let maxBatch = configuration.maxBatchSize
        let metrics = EngineMetrics()
        self.metrics = metrics
        queryBatcher = Batcher(maxBatch: maxBatch, serial: serial, queueWait: metrics.queries.queueWait) { sequences in
            try stride(from: 0, to: sequences.count, by: maxBatch).flatMap { start in
                let pass = Array(sequences[start..<min(start + maxBatch, sequences.count)])
                return try metrics.queries.pass(items: pass.count) { try compute.run { try model.embedQueries(pass) } }
            }
        }
        // Images are far larger than queries: a handful per forward pass bounds memory.
        let imagesPerPass = max(1, min(maxBatch, 4))
        imageBatcher = Batcher(maxBatch: imagesPerPass, serial: serial, queueWait: metrics.images.queueWait) { inputs, stop in
            var embedded = 0
            do {
                return try stride(from: 0, to: inputs.count, by: imagesPerPass).flatMap { start in
                    let pass = inputs[start..<min(start + imagesPerPass, inputs.count)]
                    let vectors = try metrics.images.pass(items: pass.count) {
                        try compute.run {
                            try model.embedImages(
                                inputIds: pass.map(\.prompt.inputIDs), tiles: pass.map { try $0.tilesTensor() }, isCancelled: stop)
                        }
                    }
                    embedded += pass.count
                    return vectors
                }
            } catch is CancellationError {
                throw ForwardPassStopped(embedded: embedded, total: inputs.count)
            }
        }
    }

    public func embedQueries(_ queries: [String]) throws -> [TokenVectors] {
        try embedQueries(queries, cancellation: RequestCancellation())
    }

    public func embedImages(_ images: [[UInt8]]) throws -> [ImageEmbedding] {
        try embedImages(images, cancellation: RequestCancellation())
    }

    public func embedQueries(_ queries: [String], cancellation: RequestCancellation) throws -> [TokenVectors] {
        let sequences = try queries.enumerated().map { index, query in
            do {
                return try processor.queryIDs(query)
            } catch let error as ProcessingError {
                throw Self.classify(error, item: "query \(index)")
            } catch let error as TokenizerError {
                throw Self.classify(error, item: "query \(index)")
            }
        }
        do {
            return try queryBatcher.run(sequences) { cancellation.isCancelled }
        } catch BatcherError.abandoned {
            cancellation.recordSkipped("\(queries.count) queries dropped from the queue before their forward pass")
            throw RequestCancellation.abandoned
        }
    }

    /// Checks for abandonment before each image is decoded, while the images wait for a forward
    /// pass, and between images of the forward pass (when no live request shares it).
    public func embedImages(_ images: [[UInt8]], cancellation: RequestCancellation) throws -> [ImageEmbedding] {
        var inputs: [ImageInput] = []
        inputs.reserveCapacity(images.count)
        for (index, bytes) in images.enumerated() {
            if cancellation.isCancelled {
                cancellation.recordSkipped("\(images.count - index) of \(images.count) images not decoded, none embedded")
                throw RequestCancellation.abandoned
            }
            do {
                inputs.append(try self.images.input(encoded: bytes))
                metrics.imageTiles.record(inputs[index].pixelShape[0])
            } catch let error as ImagingError {
                throw InputError("image \(index): \(error)")
            } catch let error as TokenizerError {
                throw Self.classify(error, item: "image \(index)")
            }
        }
        let vectors: [TokenVectors]
        do {
            vectors = try imageBatcher.run(inputs) { cancellation.isCancelled }
        } catch BatcherError.abandoned {
            cancellation.recordSkipped("\(images.count) images dropped from the queue before their forward pass")
            throw RequestCancellation.abandoned
        } catch let stopped as ForwardPassStopped {
            cancellation.recordSkipped(
                "forward pass stopped between images: \(stopped.total - stopped.embedded) of \(stopped.total) images of the batch "
                    + "(this request's \(images.count) among them) not embedded")
            throw RequestCancellation.abandoned
        }
        return zip(vectors, inputs).map { vectors, input in
            ImageEmbedding(
                vectors: vectors, imagePatchIndices: input.prompt.imageTokenPositions,
                tileRows: input.layout.rows, tileColumns: input.layout.cols,
                imageWidth: input.imageWidth, imageHeight: input.imageHeight)
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

    /// Only a too-long input is the client's fault (400); any other tokenizer failure (an unknown or
    /// missing special token) is the checkpoint's, and must not be answered as bad input.
    static func classify(_ error: TokenizerError, item: String) -> any Error {
        if case .sequenceTooLong = error { return InputError("\(item): \(error)") }
        return ModelEngineError.inconsistentCheckpoint("\(item): \(error)")
    }

    /// A query with `<image>` or an empty batch is the client's fault; a configuration or
    /// vocabulary problem, or a tiling that disagrees with its prediction, is the service's.
    static func classify(_ error: ProcessingError, item: String) -> any Error {
        switch error {
        case .imageTokenInQuery: InputError("\(item) contains the reserved text <image>")
        case .noInputs, .invalidGrid: InputError("\(item): \(error)")
        case .invalidConfiguration, .missingToken, .tilingMismatch: ModelEngineError.inconsistentCheckpoint("\(item): \(error)")
        }
    }
}

/// The image batcher's forward pass stopped because every request in it was abandoned: how many
/// of its images had been embedded by then (whole passes of up to four).
struct ForwardPassStopped: Error {
    let embedded: Int
    let total: Int
}

/// The checkpoint cannot be served: a load-time failure, never the client's (`InputError`).
public enum ModelEngineError: Error, CustomStringConvertible {
    case inconsistentCheckpoint(String)

    public var description: String {
        switch self {
        case .inconsistentCheckpoint(let reason): "checkpoint is inconsistent: \(reason)"
        }
    }
}

extension ImageInput {
    /// The tiles [T, 3, S, S] as a float32 CPU tensor over the pixel memory itself (no copy); the
    /// tensor keeps the memory alive for as long as libtorch holds it.
    func tilesTensor() throws -> Tensor {
        try Tensor.fromBlob(
            UnsafeRawPointer(pixels.values.baseAddress!), shape: pixelShape, dtype: .float32, owner: pixels)
    }
}
