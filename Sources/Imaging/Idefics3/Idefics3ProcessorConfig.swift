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
        let processor = try readObject(directory.appendingPathComponent("processor_config.json"))
        var config: Idefics3ProcessorConfig
        if let preprocessor = try readObject(directory.appendingPathComponent("preprocessor_config.json")) {
            config = try Idefics3ProcessorConfig(object: preprocessor)
        } else if case .object(let nested)? = processor?["image_processor"] {
            config = try Idefics3ProcessorConfig(object: nested)
        } else {
            throw .missingFile(
                "neither preprocessor_config.json nor processor_config.json with image_processor in \(directory.path)")
        }
        if let length = processor?["image_seq_len"] {
            config.imageSeqLen = try positiveInteger(length, field: "image_seq_len")
        }
        return config
    }

    /// Parses one image-processor JSON object (flat keys as in `preprocessor_config.json`).
    public init(json: Data) throws(ImageProcessorConfigError) {
        try self.init(object: try Self.object(from: json, name: "config"))
    }

    init(object: [String: JSONValue]) throws(ImageProcessorConfigError) {
        self.init()
        doResize = try Self.flag(object, "do_resize", default: doResize)
        doImageSplitting = try Self.flag(object, "do_image_splitting", default: doImageSplitting)
        doRescale = try Self.flag(object, "do_rescale", default: doRescale)
        doNormalize = try Self.flag(object, "do_normalize", default: doNormalize)
        doPad = try Self.flag(object, "do_pad", default: doPad)
        if try !Self.flag(object, "do_convert_rgb", default: true) {
            throw .invalid(field: "do_convert_rgb", reason: "only RGB conversion is supported")
        }
        if let size = object["size"] {
            longestEdge = try Self.longestEdge(size, field: "size")
        }
        if let size = object["max_image_size"] {
            tileSize = try Self.longestEdge(size, field: "max_image_size")
        }
        if let value = object["resample"] {
            let code = try Self.positiveInteger(value, field: "resample", allowZero: true)
            guard let filter = ResampleFilter(pillowResample: code) else {
                throw .invalid(field: "resample", reason: "filter \(code) is not implemented (only 1 = LANCZOS)")
            }
            resample = filter
        }
        if let value = object["rescale_factor"] {
            guard case .number(let factor) = value, factor.isFinite else {
                throw .invalid(field: "rescale_factor", reason: "not a number")
            }
            rescaleFactor = factor
        }
        if let value = object["image_mean"] {
            imageMean = try Self.triple(value, field: "image_mean")
        }
        if let value = object["image_std"] {
            imageStd = try Self.triple(value, field: "image_std")
            if imageStd.contains(0) { throw .invalid(field: "image_std", reason: "zero standard deviation") }
        }
    }

    private static func object(from data: Data, name: String) throws(ImageProcessorConfigError) -> [String: JSONValue] {
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(data)
        } catch {
            throw .invalidJSON("\(name): \(error)")
        }
        guard case .object(let object) = parsed else { throw .invalidJSON("\(name): top level is not an object") }
        return object
    }

    /// The JSON object in `url`, or nil when there is no such file.
    private static func readObject(_ url: URL) throws(ImageProcessorConfigError) -> [String: JSONValue]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .invalidJSON("\(url.lastPathComponent): \(error.localizedDescription)")
        }
        return try object(from: data, name: url.lastPathComponent)
    }

    private static func flag(_ object: [String: JSONValue], _ key: String, default value: Bool)
        throws(ImageProcessorConfigError) -> Bool
    {
        switch object[key] {
        case nil, .null?: return value
        case .bool(let flag)?: return flag
        default: throw .invalid(field: key, reason: "not a boolean")
        }
    }

    private static func longestEdge(_ value: JSONValue, field: String) throws(ImageProcessorConfigError) -> Int {
        guard case .object(let object) = value, let edge = object["longest_edge"] else {
            throw .invalid(field: field, reason: "only {\"longest_edge\": N} is supported")
        }
        return try positiveInteger(edge, field: "\(field).longest_edge")
    }

    private static func positiveInteger(_ value: JSONValue, field: String, allowZero: Bool = false)
        throws(ImageProcessorConfigError) -> Int
    {
        guard case .number(let number) = value, let integer = Int(exactly: number), integer > 0 || (allowZero && integer == 0)
        else {
            throw .invalid(field: field, reason: "not a positive integer")
        }
        return integer
    }

    private static func triple(_ value: JSONValue, field: String) throws(ImageProcessorConfigError) -> [Double] {
        if case .number(let number) = value, number.isFinite {
            return Array(repeating: number, count: 3)
        }
        guard case .array(let list) = value, list.count == 3 else {
            throw .invalid(field: field, reason: "expected 3 numbers")
        }
        var result: [Double] = []
        for item in list {
            guard case .number(let number) = item, number.isFinite else {
                throw .invalid(field: field, reason: "expected 3 numbers")
            }
            result.append(number)
        }
        return result
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
