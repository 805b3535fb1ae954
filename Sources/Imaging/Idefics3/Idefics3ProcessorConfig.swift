import CheckpointConfig
import Foundation

/// The image-processor settings of an Idefics3-style checkpoint (ModernVBert,
/// ColModernVBert, SmolVLM), read from `preprocessor_config.json` or the
/// `image_processor` object of `processor_config.json`. Missing keys take the
/// defaults of transformers' Idefics3 image processor.
public struct Idefics3ProcessorConfig: Sendable, Equatable {
    public var doResize: Bool
    /// `size.longest_edge`: the first resize brings the longest side to this.
    public var longestEdge: Int
    public var doImageSplitting: Bool
    /// `max_image_size.longest_edge`: the side of every (square) tile.
    public var tileSize: Int
    public var resample: ResampleFilter
    public var doRescale: Bool
    public var rescaleFactor: Double
    public var doNormalize: Bool
    /// Per-channel mean and standard deviation (R, G, B).
    public var imageMean: [Double]
    public var imageStd: [Double]
    public var doPad: Bool
    /// `image_seq_len` from `processor_config.json` (tokens per tile), when present.
    public var imageSeqLen: Int?

    public init(
        doResize: Bool = true, longestEdge: Int = 4 * 364, doImageSplitting: Bool = true, tileSize: Int = 364,
        resample: ResampleFilter = .lanczos, doRescale: Bool = true, rescaleFactor: Double = 1.0 / 255.0,
        doNormalize: Bool = true, imageMean: [Double] = [0.5, 0.5, 0.5], imageStd: [Double] = [0.5, 0.5, 0.5],
        doPad: Bool = true, imageSeqLen: Int? = nil
    ) {
        self.doResize = doResize
        self.longestEdge = longestEdge
        self.doImageSplitting = doImageSplitting
        self.tileSize = tileSize
        self.resample = resample
        self.doRescale = doRescale
        self.rescaleFactor = rescaleFactor
        self.doNormalize = doNormalize
        self.imageMean = imageMean
        self.imageStd = imageStd
        self.doPad = doPad
        self.imageSeqLen = imageSeqLen
    }

    /// The published ModernVBERT/colmodernvbert(-merged) settings: pages resized to
    /// 2048 on the long side, 512-pixel tiles, Lanczos, mean = std = 0.5, 64 tokens per tile.
    public static let published = Idefics3ProcessorConfig(
        longestEdge: 2048, tileSize: 512, rescaleFactor: 0.00392156862745098, imageSeqLen: 64)

    /// Reads a checkpoint folder: `preprocessor_config.json` when present, else the
    /// `image_processor` object of `processor_config.json`; `image_seq_len` comes
    /// from `processor_config.json` either way.
    public static func load(directory: URL) throws(ImageProcessorConfigError) -> Idefics3ProcessorConfig {
        let processor = try read(ProcessorConfigFile.self, ProcessorConfigFile.fileName, directory)
        var config: Idefics3ProcessorConfig
        if let preprocessor = try read(PreprocessorConfigFile.self, PreprocessorConfigFile.fileName, directory) {
            config = try Idefics3ProcessorConfig(file: preprocessor)
        } else if let nested = processor?.imageProcessor {
            config = try Idefics3ProcessorConfig(file: nested, path: "image_processor.")
        } else {
            throw .missingFile(
                "neither preprocessor_config.json nor processor_config.json with image_processor in \(directory.path)")
        }
        if let length = processor?.imageSeqLen {
            guard length > 0 else { throw .invalid(field: "image_seq_len", reason: "not a positive integer") }
            config.imageSeqLen = length
        }
        return config
    }

    /// Parses one image-processor JSON object (flat keys as in `preprocessor_config.json`).
    public init(json: Data) throws(ImageProcessorConfigError) {
        let file: PreprocessorConfigFile
        do {
            file = try ConfigFile.decode(PreprocessorConfigFile.self, from: json, file: "config")
        } catch {
            throw ImageProcessorConfigError(error)
        }
        try self.init(file: file)
    }

    /// The settings of a decoded image-processor object, with transformers' Idefics3 defaults for
    /// absent keys. `path` prefixes field names in errors (`image_processor.` when nested).
    public init(file: PreprocessorConfigFile, path: String = "") throws(ImageProcessorConfigError) {
        self.init()
        func field(_ key: String) -> String { path + key }
        doResize = file.doResize ?? doResize
        doImageSplitting = file.doImageSplitting ?? doImageSplitting
        doRescale = file.doRescale ?? doRescale
        doNormalize = file.doNormalize ?? doNormalize
        doPad = file.doPad ?? doPad
        if file.doConvertRGB == false {
            throw .invalid(field: field("do_convert_rgb"), reason: "only RGB conversion is supported")
        }
        if let size = file.size {
            longestEdge = try Self.longestEdge(size, field: field("size"))
        }
        if let size = file.maxImageSize {
            tileSize = try Self.longestEdge(size, field: field("max_image_size"))
        }
        if let code = file.resample {
            guard let filter = ResampleFilter(pillowResample: code) else {
                throw .invalid(field: field("resample"), reason: "filter \(code) is not implemented (only 1 = LANCZOS)")
            }
            resample = filter
        }
        if let factor = file.rescaleFactor {
            guard factor.isFinite else { throw .invalid(field: field("rescale_factor"), reason: "not a number") }
            rescaleFactor = factor
        }
        if let mean = file.imageMean {
            imageMean = try Self.triple(mean, field: field("image_mean"))
        }
        if let std = file.imageStd {
            imageStd = try Self.triple(std, field: field("image_std"))
            if imageStd.contains(0) { throw .invalid(field: field("image_std"), reason: "zero standard deviation") }
        }
    }

    /// The decoded file `name` of `directory`, or nil when there is no such file.
    private static func read<T: Decodable>(_ type: T.Type, _ name: String, _ directory: URL) throws(ImageProcessorConfigError) -> T? {
        do {
            return try ConfigFile.load(T.self, named: name, in: directory)
        } catch {
            throw ImageProcessorConfigError(error)
        }
    }

    private static func longestEdge(_ value: LongestEdgeField, field: String) throws(ImageProcessorConfigError) -> Int {
        guard let edge = value.longestEdge, value.otherKeys.isEmpty else {
            throw .invalid(field: field, reason: "only {\"longest_edge\": N} is supported")
        }
        guard edge > 0 else { throw .invalid(field: "\(field).longest_edge", reason: "not a positive integer") }
        return edge
    }

    private static func triple(_ value: NumberList, field: String) throws(ImageProcessorConfigError) -> [Double] {
        let values = value.isScalar ? Array(repeating: value.values[0], count: 3) : value.values
        guard values.count == 3, values.allSatisfy(\.isFinite) else {
            throw .invalid(field: field, reason: "expected 3 numbers")
        }
        return values
    }
}

/// A processor configuration that cannot be used.
public enum ImageProcessorConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingFile(String)
    case invalidJSON(String)
    case invalid(field: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let what): return "image processor config not found: \(what)"
        case .invalidJSON(let reason): return "image processor config is not valid JSON: \(reason)"
        case .invalid(let field, let reason): return "image processor config field \(field): \(reason)"
        }
    }
}

extension ImageProcessorConfigError {
    /// A decoding failure of processor_config.json / preprocessor_config.json.
    init(_ error: ConfigFileError) {
        if let field = error.field {
            self = .invalid(field: field, reason: "\(error.file): \(error.reason)")
        } else {
            self = .invalidJSON("\(error.file): \(error.reason)")
        }
    }
}
