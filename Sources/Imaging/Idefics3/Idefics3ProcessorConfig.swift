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
        let processorFile = directory.appendingPathComponent("processor_config.json")
        let preprocessorFile = directory.appendingPathComponent("preprocessor_config.json")
        let processor = try readObject(processorFile)
        var config: Idefics3ProcessorConfig
        if let preprocessor = try readObject(preprocessorFile) {
            config = try Idefics3ProcessorConfig(object: preprocessor)
        } else if let nested = processor?["image_processor"] as? [String: Any] {
            config = try Idefics3ProcessorConfig(object: nested)
        } else {
            throw .missingFile("neither preprocessor_config.json nor processor_config.json with image_processor in \(directory.path)")
        }
        if let processor, let length = processor["image_seq_len"] {
            config.imageSeqLen = try positiveInteger(length, field: "image_seq_len")
        }
        return config
    }

    /// Parses one image-processor JSON object (flat keys as in `preprocessor_config.json`).
    public init(json: Data) throws(ImageProcessorConfigError) {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw .invalidJSON(error.localizedDescription)
        }
        guard let object = parsed as? [String: Any] else { throw .invalidJSON("top level is not an object") }
        try self.init(object: object)
    }

    init(object: [String: Any]) throws(ImageProcessorConfigError) {
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
            guard let factor = (value as? NSNumber)?.doubleValue, factor.isFinite else {
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

    /// The JSON object in `url`, or nil when there is no such file.
    private static func readObject(_ url: URL) throws(ImageProcessorConfigError) -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let data = try Data(contentsOf: url)
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ImageProcessorConfigError.invalidJSON("\(url.lastPathComponent): top level is not an object")
            }
            return object
        } catch let error as ImageProcessorConfigError {
            throw error
        } catch {
            throw .invalidJSON("\(url.lastPathComponent): \(error.localizedDescription)")
        }
    }

    private static func flag(_ object: [String: Any], _ key: String, default value: Bool) throws(ImageProcessorConfigError)
        -> Bool
    {
        guard let raw = object[key], !(raw is NSNull) else { return value }
        guard let flag = raw as? Bool else {
            throw .invalid(field: key, reason: "not a boolean")
        }
        return flag
    }

    private static func longestEdge(_ value: Any, field: String) throws(ImageProcessorConfigError) -> Int {
        guard let object = value as? [String: Any], let edge = object["longest_edge"] else {
            throw .invalid(field: field, reason: "only {\"longest_edge\": N} is supported")
        }
        return try positiveInteger(edge, field: "\(field).longest_edge")
    }

    private static func positiveInteger(_ value: Any, field: String, allowZero: Bool = false)
        throws(ImageProcessorConfigError) -> Int
    {
        guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue),
            integer > 0 || (allowZero && integer == 0)
        else {
            throw .invalid(field: field, reason: "not a positive integer")
        }
        return integer
    }

    private static func triple(_ value: Any, field: String) throws(ImageProcessorConfigError) -> [Double] {
        if let number = value as? NSNumber {
            return Array(repeating: number.doubleValue, count: 3)
        }
        guard let list = value as? [Any], list.count == 3 else {
            throw .invalid(field: field, reason: "expected 3 numbers")
        }
        var result: [Double] = []
        for item in list {
            guard let number = item as? NSNumber, number.doubleValue.isFinite else {
                throw .invalid(field: field, reason: "expected 3 numbers")
            }
            result.append(number.doubleValue)
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
