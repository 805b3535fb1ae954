import Foundation
import POSIX
import SafeTensors
import Torch

/// ColModernVBert on libtorch: ModernBERT text tower, SigLIP vision tower, pixel-shuffle connector
/// and the ColBERT projection head, following transformers' ModernVBertModel and
/// ColModernVBertForRetrieval.
///
/// Immutable after loading; embedding calls may run from several threads at once.
public final class ColModernVBertModel: Sendable {
    public let config: ModelConfig
    public let options: ModelOptions
    public let device: Device
    /// The text tower's dtype: what queries run in.
    public let dtype: DType
    /// Each tower's dtype and why it was chosen (resolved once, at load).
    public let precision: TowerPrecision
    /// Size of each token vector (the projection's output, 128 for the published model).
    public let dim: Int
    /// Where the tensors derived at load (packed text weights, fused projections) came from: a
    /// shared file, written or mapped, or private copies; for the log. nil without a shared file.
    public let sharedWeights: String?
    /// The text tower's linear kernel: "panels-avx2", "panels-avx512", "oneDNN" or "libtorch".
    public let textLinearKernel: String
    /// The vision tower's and connector's linear kernel: "oneDNN" or "libtorch" (see
    /// `LinearPacking.vision`).
    public let visionLinearKernel: String

    let text: ModernBertModel
    let vision: SiglipVisionModel
    let connector: Connector
    let head: EmbeddingHead

    public var imageTokenId: Int { config.imageTokenId }
    /// `<image>` tokens per tile (64 for the published model).
    public var imageSeqLen: Int { config.imageSeqLen }

    /// Loads config.json and the safetensors weights (single file or sharded) of a model folder.
    public static func load(directory: URL, options: ModelOptions = ModelOptions()) throws -> ColModernVBertModel {
        let config = try ModelConfig.load(directory: directory)
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        return try ColModernVBertModel(config: config, weights: checkpoint, options: options)
    }

    public static func load(directory: URL, device: Device?, dtype: DType? = nil) throws -> ColModernVBertModel {
        try load(directory: directory, options: ModelOptions(device: device, dtype: dtype))
    }

    /// Builds the model from weights in any supported layout (see `WeightNames`).
    public init(config: ModelConfig, weights: WeightSource, options: ModelOptions = ModelOptions()) throws {
        self.config = config
        self.options = options
        device = options.resolvedDevice
        precision = options.resolvedPrecision
        dtype = precision.dtypes.text
        for (part, partDType) in [("text", dtype), ("vision", precision.dtypes.vision)] where !partDType.isFloatingPoint {
            throw ColModernVBertError.invalidInput("compute dtype of the \(part) tower must be floating point, got \(partDType)")
        }
        if options.keepActivationMemory && device == .cpu {
            AllocatorTuning.keepLargeBuffers()
        }
        var store = try WeightStore(source: weights, device: device, dtype: dtype)
        let shared = SharedTensorFile.forDerivedWeights(
            directory: options.sharedWeightsDirectory, weights: weights, device: device, dtype: dtype,
            visionDType: precision.dtypes.vision, kernel: options.cpuLinearKernel)
        store.shared = shared
        // The vision weights are converted to their dtype here, once; the mapped float32 pages
        // are only read while converting. With a shared file the converted copies go there too
        // (one per machine, mapped by every worker), else they are private to the worker.
        var visionStore = store
        if precision.dtypes.vision != dtype {
            visionStore = try WeightStore(source: weights, device: device, dtype: precision.dtypes.vision)
            visionStore.shared = shared
        }
        let packing: LinearPacking
        switch options.cpuLinearKernel {
        case _ where device != .cpu || dtype != .float32: packing = .none
        case .libtorch: packing = .none
        case .panels:
            // The tile for the tier precision was chosen for; AVX2 where that tier was invented
            // (tests) or capped (COLPALI_CPU_ISA) below what this CPU runs.
            let tile = Tensor.panelTile(for: precision.cpuISA ?? .avx2)
            packing = .panels(shared: shared, isa: Tensor.panelLinearSupports(tile) ? tile : .avx2)
        case .oneDNN: packing = .oneDNN(batchHint: 64)
        }
        textLinearKernel = packing.name
        // The tier precision was resolved for, never above what this CPU runs (tests invent CPUs).
        let resolvedISA = min(precision.cpuISA ?? .baseline, CPUFeatures.detect().hardwareISA)
        let visionPacking = LinearPacking.vision(device: device, dtype: precision.dtypes.vision, isa: resolvedISA)
        visionLinearKernel = visionPacking.name
        let bridgeAttention = SiglipAttention.usesBridgeAttention(
            device: device, dtype: precision.dtypes.vision, isa: resolvedISA, headDim: config.vision.headDim)
        let longAttention =
            options.longAttention
            && ModernBertAttention.usesLongAttention(
                device: device, dtype: dtype, isa: resolvedISA, headDim: config.text.headDim)
        text = try ModernBertModel(
            store: store, config: config.text, packing: packing, shortAttention: options.shortAttention, longAttention: longAttention)
        vision = try SiglipVisionModel(
            store: visionStore, stream: store, config: config.vision, packing: visionPacking, bridgeAttention: bridgeAttention)
        connector = try Connector(store: visionStore, config: config, packing: visionPacking)
        head = try EmbeddingHead(store: store, hidden: config.text.hiddenSize, expectedDim: config.embeddingDim)
        shared?.finish()
        sharedWeights = shared?.summary
        if shared != nil { AllocatorTuning.releaseFreeMemory() }
        dim = head.dim
    }

    // MARK: - Forward

    /// The reference forward pass: ids [B, L], attention mask [B, L] (1 = token, 0 = padding), and
    /// optionally pixel values [B, tiles, C, S, S] padded with all-zero tiles, which are skipped.
    /// - Returns: [B, L, dim] on the model's device in its dtype, zero at padding positions.
    public func forward(inputIds: Tensor, attentionMask: Tensor, pixelValues: Tensor? = nil) throws -> Tensor {
        try ColModernVBertError.wrapping {
            try forward(ModelInput(inputIds: inputIds, attentionMask: attentionMask, config: config), pixelValues: pixelValues)
        }
    }

    /// The forward pass over a validated batch; padding tiles in `pixelValues` are dropped.
    func forward(_ batch: ModelInput, pixelValues: Tensor?) throws -> Tensor {
        var features: Tensor?
        var tilesPerItem = Array(repeating: 0, count: batch.batchSize)
        if let pixelValues {
            let tiles = try ImageTiles(pixelValues: pixelValues, batch: batch.batchSize, config: config.vision)
            tilesPerItem = tiles.realTilesPerItem
            try batch.checkImageTokens(tilesPerItem: tilesPerItem, imageSeqLen: config.imageSeqLen)
            features = try tiles.real.map { try imageFeatures($0) }
        } else {
            try batch.checkImageTokens(tilesPerItem: tilesPerItem, imageSeqLen: config.imageSeqLen)
        }
        return try run(batch, imageFeatures: features)
    }

    /// Image features of real tiles [N, C, S, S] → [N · imageSeqLen, textHidden], in tile order,
    /// computed in the vision dtype and returned in the text tower's.
    func imageFeatures(_ tiles: Tensor) throws -> Tensor {
        let placed = try tiles.to(device, precision.dtypes.vision)
        let count = placed.size(0)
        let step = options.visionTileBatch > 0 ? options.visionTileBatch : count
        var parts: [Tensor] = []
        var start = 0
        while start < count {
            let length = min(step, count - start)
            let chunk = length == count ? placed : try placed.narrow(dim: 0, start: start, length: length)
            // The vision tower returns its residual stream's dtype; the connector runs in the tower's.
            parts.append(try connector(vision(chunk).converted(to: precision.dtypes.vision)))  // [n, imageSeqLen, hidden]
            start += length
        }
        let features = parts.count == 1 ? parts[0] : try Tensor.cat(parts, dim: 0)
        let textFeatures = features.dtype == dtype ? features : try features.to(device, dtype)
        return try textFeatures.reshape([-1, config.text.hiddenSize])
    }

    /// Text tower and head over a validated batch, with image features for its `<image>` tokens.
    func run(_ batch: ModelInput, imageFeatures: Tensor?) throws -> Tensor {
        let ids = try batch.ids.to(device)
        let valid = try batch.valid.map { try $0.to(device) }
        var embeddings = try text.embeddings.lookup(ids)  // [B, L, hidden]
        if let imageFeatures {
            let slots = try ids.eq(Double(config.imageTokenId)).unsqueeze(-1)  // [B, L, 1]
            embeddings = try embeddings.maskedScatter(slots, source: imageFeatures.to(embeddings.dtype))
        }
        let hidden = try text(embeddings, valid: valid)
        return try head(hidden, valid: valid)
    }
}
