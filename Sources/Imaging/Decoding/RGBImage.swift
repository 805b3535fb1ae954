/// An 8-bit RGB colour.
public struct RGBColor: Sendable, Equatable, Hashable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }
}

/// An interleaved 8-bit RGB image: what Pillow's `convert("RGB")` returns.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major R, G, B bytes, `width * height * 3` of them.
    public var pixels: [UInt8]
    /// The colour Pillow keeps in `info["transparency"]` after `convert("RGB")`,
    /// reduced to 8 bits per channel the way Pillow applies it (each value masked
    /// with 0xFF; a bare integer t means (t, 0, 0)). Nil for almost every image.
    public var transparentColor: RGBColor?

    /// Nil when the size is not positive or `pixels` does not hold `width * height * 3` bytes.
    public init?(width: Int, height: Int, pixels: [UInt8], transparentColor: RGBColor? = nil) {
        guard width > 0, height > 0, width <= Int.max / 3 / height, pixels.count == width * height * 3 else {
            return nil
        }
        self.width = width
        self.height = height
        self.pixels = pixels
        self.transparentColor = transparentColor
    }

    /// What the reference image processor does before resizing: an RGB image that
    /// still carries a transparent colour is converted to RGBA with that colour
    /// fully transparent and composited on white, i.e. exactly the pixels of that
    /// colour become white. (Alpha channels were already dropped by `convert("RGB")`.)
    public func compositingTransparentColorOnWhite() -> RGBImage {
        guard let key = transparentColor else { return self }
        var result = self
        result.transparentColor = nil
        result.pixels.withUnsafeMutableBufferPointer { buffer in
            var index = 0
            while index < buffer.count {
                if buffer[index] == key.red && buffer[index + 1] == key.green && buffer[index + 2] == key.blue {
                    buffer[index] = 255
                    buffer[index + 1] = 255
                    buffer[index + 2] = 255
                }
                index += 3
            }
        }
        return result
    }
}
