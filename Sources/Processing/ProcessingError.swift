import Imaging

/// Why a query or image prompt could not be built. Tokenizer failures (such as
/// `TokenizerError.sequenceTooLong`) are passed through unchanged.
public enum ProcessingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration file exists but cannot be read or parsed.
    case invalidConfiguration(file: String, reason: String)
    /// A token the prompts need is missing from the tokenizer.
    case missingToken(String)
    /// A query contains the literal image placeholder, which the reference rejects
    /// (it would expect an image to go with it).
    case imageTokenInQuery(index: Int)
    /// A tile layout with negative counts, or rows without columns (or the reverse).
    case invalidGrid(rows: Int, cols: Int)
    /// An empty batch.
    case noInputs
    /// The image processor tiled an image differently from the layout it predicted for its size
    /// (nil: it refused the memory sized for that layout); a bug, not bad input.
    case tilingMismatch(predicted: TileLayout, processed: TileLayout?)

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let reason):
            return "invalid \(file): \(reason)"
        case .missingToken(let token):
            return "the tokenizer has no \(token) token"
        case .imageTokenInQuery(let index):
            return "query \(index) contains the image placeholder <image>, which is not allowed in a text query"
        case .invalidGrid(let rows, let cols):
            return "invalid image tile layout \(rows)x\(cols)"
        case .noInputs:
            return "no inputs"
        case .tilingMismatch(let predicted, let processed):
            return "the image processor predicted tiles \(predicted) but produced \(processed.map(\.description) ?? "more than that")"
        }
    }
}
