import CImageCodecs
import Foundation

/// Decodes image bytes (JPEG, PNG, GIF, WebP, TIFF, BMP) with the system codec
/// libraries, recognising the format from the bytes themselves. EXIF orientation
/// is not applied, as the reference does not apply it.
///
/// A value type with no shared state: one decoder can serve many threads.
public struct ImageDecoder: Sendable {
    /// Pillow's `Image.MAX_IMAGE_PIXELS`. Pillow only warns above it and refuses
    /// images with more than twice as many pixels (`DecompressionBombError`).
    public static let pillowMaxImagePixels = 89_478_485

    /// Images with more pixels than this are refused from their header, before
    /// any pixel memory is allocated. The default refuses exactly what Pillow
    /// refuses (more than 2 x `pillowMaxImagePixels`).
    public var maxPixels: Int

    public init(maxPixels: Int = 2 * ImageDecoder.pillowMaxImagePixels) {
        self.maxPixels = max(0, maxPixels)
    }

    /// Decodes `bytes` into its source mode (palette, 16-bit grey, CMYK... kept).
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ImagingError) -> DecodedImage {
        guard let format = ImageFormat.sniff(bytes) else {
            if let known = ImageFormat.sniffUnsupported(bytes) {
                throw .unsupportedFormat(known)
            }
            throw .undecodable(format: nil, reason: bytes.isEmpty ? "no data" : "unknown file signature")
        }
        return try Self.run(format, bytes, maxPixels: UInt64(maxPixels))
    }

    /// Decodes any contiguous byte container (`[UInt8]`, `Data`, ...).
    public func decode(_ bytes: some ContiguousBytes) throws(ImagingError) -> DecodedImage {
        let result: Result<DecodedImage, ImagingError> = bytes.withUnsafeBytes { buffer in
            do throws(ImagingError) {
                return .success(try decode(buffer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decodes and converts to RGB exactly as Pillow's `convert("RGB")` would.
    public func decodeRGB(_ bytes: some ContiguousBytes) throws(ImagingError) -> RGBImage {
        try decode(bytes).rgb()
    }

    private typealias CDecoder = (
        UnsafePointer<UInt8>?, Int, UInt64, UnsafeMutablePointer<ic_image>?, UnsafeMutablePointer<ic_error>?
    ) -> ic_status

    private static func entryPoint(for format: ImageFormat) -> CDecoder {
        switch format {
        case .jpeg: return ic_decode_jpeg
        case .png: return ic_decode_png
        case .gif: return ic_decode_gif
        case .webp: return ic_decode_webp
        case .tiff: return ic_decode_tiff
        case .bmp: return ic_decode_bmp
        }
    }

    private static func run(
        _ format: ImageFormat, _ bytes: UnsafeRawBufferPointer, maxPixels: UInt64
    ) throws(ImagingError) -> DecodedImage {
        var image = ic_image()
        var failure = ic_error()
        let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let status = entryPoint(for: format)(data, bytes.count, maxPixels, &image, &failure)
        guard status == IC_OK, let pixels = image.pixels else {
            // The error first: it reads the header size that freeing zeroes.
            let reported = error(
                for: status == IC_OK ? IC_ERROR_CORRUPT : status, format: format, image: image, failure: failure, maxPixels: maxPixels)
            ic_image_free(&image)
            throw reported
        }
        // The buffer changes hands: from here on only the PixelBuffer frees it.
        image.pixels = nil
        let mode = Self.mode(image.mode)
        let buffer = PixelBuffer(taking: pixels, count: Int(image.width) * Int(image.height) * mode.bytesPerPixel)
        return wrap(image, pixels: buffer, format: format)
    }

    private static func error(
        for status: ic_status, format: ImageFormat, image: ic_image, failure: ic_error, maxPixels: UInt64
    ) -> ImagingError {
        var message = failure
        let reason = withUnsafeBytes(of: &message.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        switch status {
        case IC_ERROR_ZERO_SIZE:
            return .zeroSize(format: format)
        case IC_ERROR_TOO_MANY_PIXELS:
            return .tooManyPixels(width: Int(image.width), height: Int(image.height), limit: Int(maxPixels))
        case IC_ERROR_UNSUPPORTED:
            return .unsupportedFormat(reason.isEmpty ? "\(format) variant" : reason)
        case IC_ERROR_OUT_OF_MEMORY:
            return .outOfMemory
        default:
            return .undecodable(format: format, reason: reason.isEmpty ? "corrupt data" : reason)
        }
    }

    private static func wrap(_ image: ic_image, pixels: PixelBuffer, format: ImageFormat) -> DecodedImage {
        let mode = Self.mode(image.mode)
        var palette: [UInt8] = []
        if mode == .p || mode == .pa {
            var table = image.palette
            palette = withUnsafeBytes(of: &table) { Array($0) }
        }
        return DecodedImage(
            format: format, width: Int(image.width), height: Int(image.height), mode: mode, pixels: pixels,
            palette: palette, transparency: transparency(image))
    }

    private static func mode(_ raw: Int32) -> DecodedImage.Mode {
        switch ic_mode(UInt32(bitPattern: raw)) {
        case IC_MODE_L: return .l
        case IC_MODE_LA: return .la
        case IC_MODE_RGB: return .rgb
        case IC_MODE_RGBA: return .rgba
        case IC_MODE_P: return .p
        case IC_MODE_PA: return .pa
        case IC_MODE_I16: return .i16
        default: return .cmyk
        }
    }

    private static func transparency(_ image: ic_image) -> DecodedImage.Transparency? {
        let values = (Int(image.transparency.0), Int(image.transparency.1), Int(image.transparency.2))
        switch ic_transparency_kind(UInt32(bitPattern: image.transparency_kind)) {
        case IC_TRANSPARENCY_INDEX: return .paletteIndex(values.0)
        case IC_TRANSPARENCY_GREY: return .grey(values.0)
        case IC_TRANSPARENCY_RGB: return .rgb(values.0, values.1, values.2)
        case IC_TRANSPARENCY_INT: return .integer(values.0)
        default: return nil
        }
    }
}
