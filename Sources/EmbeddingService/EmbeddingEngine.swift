import ColModernVBert
import FastCGI
import Foundation

/// An image's embedding and where its `<image>` tokens are.
public struct ImageEmbedding: Sendable, Equatable {
    public let vectors: TokenVectors
    /// Index (within `vectors`) of every `<image>` token, ascending: split tiles row-major, then the global view.
    public let imagePatchIndices: [Int]
    /// Tile grid (0 × 0 when the image was not split).
    public let tileRows: Int
    public let tileColumns: Int
    /// Size of the decoded image, before preprocessing.
    public let imageWidth: Int
    public let imageHeight: Int

    public init(vectors: TokenVectors, imagePatchIndices: [Int], tileRows: Int, tileColumns: Int, imageWidth: Int, imageHeight: Int) {
        self.vectors = vectors
        self.imagePatchIndices = imagePatchIndices
        self.tileRows = tileRows
        self.tileColumns = tileColumns
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
    }
}

/// What /info reports.
public struct EngineInfo: Sendable, Equatable {
    public var modelID: String
    public var device: String
    public var dtype: String
    public var flashAttention: Bool
    public var dim: Int
    public var imageTokenID: Int
    public var imageSeqLen: Int
    /// What runs where: the vision tower with the connector, and the text tower with the head
    /// (`dtype` is the text tower's, what queries run in), PyTorch's spelling.
    public var visionDType: String
    public var textDType: String
    /// The CPU tier the compute paths were chosen for ("amx_bf16", "avx512_bf16", "avx512", "avx2",
    /// "baseline"); nil on a GPU.
    public var cpuISA: String?
    /// The text tower's float32 CPU linear kernel ("panels-avx512", "panels-avx2", "oneDNN",
    /// "libtorch"); nil on a GPU.
    public var textKernel: String?
    /// The vision tower's and connector's CPU linear kernel ("oneDNN", "libtorch"); nil on a GPU.
    public var visionKernel: String?
    /// The chosen precision and why, for the start-up log.
    public var precision: String

    public init(
        modelID: String, device: String, dtype: String, flashAttention: Bool, dim: Int, imageTokenID: Int, imageSeqLen: Int,
        visionDType: String? = nil, cpuISA: String? = nil, textKernel: String? = nil, visionKernel: String? = nil,
        precision: String = ""
    ) {
        self.modelID = modelID
        self.device = device
        self.dtype = dtype
        self.flashAttention = flashAttention
        self.dim = dim
        self.imageTokenID = imageTokenID
        self.imageSeqLen = imageSeqLen
        self.visionDType = visionDType ?? dtype
        textDType = dtype
        self.cpuISA = cpuISA
        self.textKernel = textKernel
        self.visionKernel = visionKernel
        self.precision = precision.isEmpty ? dtype : precision
    }
}

/// Result of the /patches arithmetic for one image size.
public enum PatchesResult: Sendable, Equatable {
    case grid(x: Int, y: Int)
    case failure(String)
}

/// The model behind the routes: a protocol so that routes can be tested without a model.
///
/// Calls block the calling (request) thread; implementations may combine concurrent calls
/// into one forward pass. Errors that are the client's fault are `InputError`s.
///
/// The `cancellation` variants drop the work of a request the web server has abandoned: they
/// record what they skipped on the token and throw `RequestCancellation.abandoned`. The
/// default implementations only check before starting.
public protocol EmbeddingEngine: Sendable {
    var info: EngineInfo { get }
    func embedQueries(_ queries: [String]) throws -> [TokenVectors]
    func embedImages(_ images: [[UInt8]]) throws -> [ImageEmbedding]
    func embedQueries(_ queries: [String], cancellation: RequestCancellation) throws -> [TokenVectors]
    func embedImages(_ images: [[UInt8]], cancellation: RequestCancellation) throws -> [ImageEmbedding]
    func patchGrid(width: Int, height: Int) -> PatchesResult
}

extension EmbeddingEngine {
    public func embedQueries(_ queries: [String], cancellation: RequestCancellation) throws -> [TokenVectors] {
        if cancellation.isCancelled {
            cancellation.recordSkipped("\(queries.count) queries")
            throw RequestCancellation.abandoned
        }
        return try embedQueries(queries)
    }

    public func embedImages(_ images: [[UInt8]], cancellation: RequestCancellation) throws -> [ImageEmbedding] {
        if cancellation.isCancelled {
            cancellation.recordSkipped("\(images.count) images")
            throw RequestCancellation.abandoned
        }
        return try embedImages(images)
    }
}

/// Bad input that the client can fix; answered with 400 and `message`.
public struct InputError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
