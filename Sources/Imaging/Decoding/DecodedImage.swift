/// An image exactly as decoded, still in its source mode: what Pillow's
/// `Image.open` would hold before any conversion. Keeping the mode (rather than
/// decoding straight to RGB) is what lets `rgb()` reproduce `convert("RGB")` for
/// palette, 16-bit and CMYK sources.
public struct DecodedImage: Sendable, Equatable {
    /// Pixel layouts, named after Pillow's modes.
    public enum Mode: Sendable, Equatable, CaseIterable {
        /// Grey, 1 byte (1/2/4-bit sources already scaled to 0...255).
        case l
        /// Grey and alpha, 2 bytes.
        case la
        case rgb
        /// Straight (not premultiplied) alpha, 4 bytes.
        case rgba
        /// Palette index, 1 byte.
        case p
        /// Palette index and alpha, 2 bytes.
        case pa
        /// 16-bit grey in native byte order, 2 bytes (Pillow's "I;16").
        case i16
        /// Ink amounts, 4 bytes, 0 = no ink.
        case cmyk

        public var bytesPerPixel: Int {
            switch self {
            case .l, .p: return 1
            case .la, .pa, .i16: return 2
            case .rgb: return 3
            case .rgba, .cmyk: return 4
            }
        }
    }

    /// A single transparent colour as Pillow stores it in `info["transparency"]`
    /// (an alpha channel is not one of these). Pillow carries it through
    /// `convert("RGB")`, and the reference image processor then paints pixels of
    /// that colour white, so it must survive decoding.
    public enum Transparency: Sendable, Equatable {
        /// Palette image: this index is transparent.
        case paletteIndex(Int)
        /// Grey image: the raw grey value from the file (may exceed 255).
        case grey(Int)
        /// RGB image: raw channel values from the file (16-bit files give 16-bit values).
        case rgb(Int, Int, Int)
        /// Bilevel or 16-bit grey image: Pillow stores a bare integer.
        case integer(Int)
    }

    public let format: ImageFormat
    public let width: Int
    public let height: Int
    public let mode: Mode
    /// Row-major, `mode.bytesPerPixel` bytes per pixel, no row padding: the decoder's own
    /// buffer, not a copy.
    public let samples: PixelBuffer
    /// 256 RGB triplets (768 bytes) for `.p` and `.pa`; entries the file does not
    /// define are black, as in Pillow. Empty for other modes.
    public let palette: [UInt8]
    public let transparency: Transparency?

    /// Internal: only the decoder makes these, and it guarantees the invariants.
    init(
        format: ImageFormat, width: Int, height: Int, mode: Mode, samples: [UInt8], palette: [UInt8] = [],
        transparency: Transparency? = nil
    ) {
        self.init(
            format: format, width: width, height: height, mode: mode, pixels: PixelBuffer(copying: samples), palette: palette,
            transparency: transparency)
    }

    /// Internal: wraps a decoder's buffer without copying it.
    init(
        format: ImageFormat, width: Int, height: Int, mode: Mode, pixels samples: PixelBuffer, palette: [UInt8] = [],
        transparency: Transparency? = nil
    ) {
        precondition(width > 0 && height > 0, "DecodedImage needs a positive size")
        precondition(samples.count == width * height * mode.bytesPerPixel, "sample count does not match size and mode")
        precondition(palette.isEmpty || palette.count == 768, "palette must hold 256 RGB entries")
        self.format = format
        self.width = width
        self.height = height
        self.mode = mode
        self.samples = samples
        self.palette = (mode == .p || mode == .pa) && palette.isEmpty ? [UInt8](repeating: 0, count: 768) : palette
        self.transparency = transparency
    }
}
