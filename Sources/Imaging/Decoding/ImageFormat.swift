/// Container formats the decoder understands, recognised by their leading bytes
/// (never by file name or the client's Content-Type, which are not trustworthy).
public enum ImageFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    case jpeg = "JPEG"
    case png = "PNG"
    case gif = "GIF"
    case webp = "WebP"
    case tiff = "TIFF"
    case bmp = "BMP"

    public var description: String { rawValue }

    /// The format whose signature starts `bytes`, or nil.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.hasPrefix([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.hasPrefix([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.hasPrefix(Array("GIF87a".utf8)) || bytes.hasPrefix(Array("GIF89a".utf8)) { return .gif }
        if bytes.hasPrefix(Array("RIFF".utf8)) && bytes.hasPrefix(Array("WEBP".utf8), at: 8) { return .webp }
        if bytes.hasPrefix([0x49, 0x49, 0x2A, 0x00]) || bytes.hasPrefix([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if bytes.hasPrefix(Array("BM".utf8)) { return .bmp }
        return nil
    }

    /// Recognisable image formats that are deliberately not decoded, so that the
    /// error can name them instead of calling the bytes garbage.
    static func sniffUnsupported(_ bytes: UnsafeRawBufferPointer) -> String? {
        if bytes.hasPrefix(Array("ftypavif".utf8), at: 4) || bytes.hasPrefix(Array("ftypavis".utf8), at: 4) {
            return "AVIF"
        }
        if bytes.hasPrefix(Array("ftyp".utf8), at: 4) { return "HEIF" }
        if bytes.hasPrefix([0x49, 0x49, 0x2B, 0x00]) || bytes.hasPrefix([0x4D, 0x4D, 0x00, 0x2B]) { return "BigTIFF" }
        if bytes.hasPrefix(Array("8BPS".utf8)) { return "Photoshop (PSD)" }
        if bytes.hasPrefix(Array("%PDF".utf8)) { return "PDF" }
        if bytes.hasPrefix([0x00, 0x00, 0x01, 0x00]) { return "ICO" }
        if bytes.hasPrefix([0xFF, 0x0A]) || bytes.hasPrefix([0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) {
            return "JPEG XL"
        }
        if bytes.hasPrefix([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) { return "JPEG 2000" }
        return nil
    }
}

extension UnsafeRawBufferPointer {
    fileprivate func hasPrefix(_ signature: [UInt8], at offset: Int = 0) -> Bool {
        guard count >= offset + signature.count else { return false }
        for (index, byte) in signature.enumerated() where self[offset + index] != byte {
            return false
        }
        return true
    }
}
