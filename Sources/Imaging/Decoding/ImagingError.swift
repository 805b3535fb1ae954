/// Why bytes could not be turned into an image. Every case is a problem with the
/// client's input (a 4xx for the service), except `outOfMemory`.
public enum ImagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a decodable image: no known signature (garbage, empty,
    /// text), or a known format whose data is corrupt or truncated.
    case undecodable(format: ImageFormat?, reason: String)
    /// A recognised image format, or a variant of a supported one, that is not decoded.
    case unsupportedFormat(String)
    /// The header declares a zero width or height.
    case zeroSize(format: ImageFormat)
    /// More pixels than the configured limit; detected from the header, before any
    /// pixel memory is allocated.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// An allocation failed while decoding.
    case outOfMemory

    public var description: String {
        switch self {
        case .undecodable(nil, let reason):
            return "cannot identify image file: \(reason)"
        case .undecodable(let format?, let reason):
            return "cannot decode \(format) image: \(reason)"
        case .unsupportedFormat(let what):
            return "unsupported image format: \(what)"
        case .zeroSize(let format):
            return "\(format) image has zero width or height"
        case .tooManyPixels(let width, let height, let limit):
            return "image of \(width)x\(height) pixels exceeds the limit of \(limit) pixels"
        case .outOfMemory:
            return "out of memory while decoding image"
        }
    }
}
