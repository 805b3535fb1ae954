/// `processor_config.json` of a ColModernVBert checkpoint (transformers' `ColModernVBertProcessor`):
/// the prompt settings and, in transformers 5, the image processor's settings nested under
/// `image_processor`. Every key optional (absent or null → nil).
public struct ProcessorConfigFile: Decodable, Equatable, Sendable {
    public static let fileName = "processor_config.json"

    /// `<image>` tokens per tile.
    public var imageSeqLen: Int?
    public var visualPromptPrefix: String?
    public var queryPrefix: String?
    public var imageProcessor: PreprocessorConfigFile?

    enum CodingKeys: String, CodingKey {
        case imageSeqLen = "image_seq_len"
        case visualPromptPrefix = "visual_prompt_prefix"
        case queryPrefix = "query_prefix"
        case imageProcessor = "image_processor"
    }

    public init(imageSeqLen: Int? = nil, visualPromptPrefix: String? = nil, queryPrefix: String? = nil) {
        self.imageSeqLen = imageSeqLen
        self.visualPromptPrefix = visualPromptPrefix
        self.queryPrefix = queryPrefix
    }
}

/// `preprocessor_config.json` (or `processor_config.json`'s `image_processor`): transformers'
/// Idefics3 image processor settings, every key optional (absent or null → nil).
public struct PreprocessorConfigFile: Decodable, Equatable, Sendable {
    public static let fileName = "preprocessor_config.json"

    public var doConvertRGB: Bool?
    public var doResize: Bool?
    public var size: LongestEdgeField?
    public var doImageSplitting: Bool?
    public var maxImageSize: LongestEdgeField?
    /// Pillow's resampling code (1 = LANCZOS).
    public var resample: Int?
    public var doRescale: Bool?
    /// Decoded exactly from the file's decimal (see `ConfigFile`).
    public var rescaleFactor: Double?
    public var doNormalize: Bool?
    public var imageMean: NumberList?
    public var imageStd: NumberList?
    public var doPad: Bool?

    enum CodingKeys: String, CodingKey {
        case doConvertRGB = "do_convert_rgb"
        case doResize = "do_resize"
        case size
        case doImageSplitting = "do_image_splitting"
        case maxImageSize = "max_image_size"
        case resample
        case doRescale = "do_rescale"
        case rescaleFactor = "rescale_factor"
        case doNormalize = "do_normalize"
        case imageMean = "image_mean"
        case imageStd = "image_std"
        case doPad = "do_pad"
    }

    public init() {}
}
