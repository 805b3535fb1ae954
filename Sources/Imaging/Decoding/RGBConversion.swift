extension DecodedImage {
    /// The image as Pillow's `convert("RGB")` returns it: alpha is dropped (not
    /// composited), palettes are looked up, 16-bit grey is clipped to 255 (Pillow
    /// does not rescale "I;16"), CMYK uses Pillow's integer formula, and a single
    /// transparent colour is carried along as `transparentColor`.
    public func rgb() -> RGBImage {
        let count = width * height
        var pixels = [UInt8](repeating: 0, count: count * 3)
        samples.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                switch mode {
                case .l, .la:
                    let step = mode.bytesPerPixel
                    for index in 0..<count {
                        let grey = source[index * step]
                        target[index * 3] = grey
                        target[index * 3 + 1] = grey
                        target[index * 3 + 2] = grey
                    }
                case .rgb:
                    _ = target.initialize(from: source)
                case .rgba:
                    for index in 0..<count {
                        target[index * 3] = source[index * 4]
                        target[index * 3 + 1] = source[index * 4 + 1]
                        target[index * 3 + 2] = source[index * 4 + 2]
                    }
                case .p, .pa:
                    let step = mode.bytesPerPixel
                    palette.withUnsafeBufferPointer { table in
                        for index in 0..<count {
                            let entry = Int(source[index * step]) * 3
                            target[index * 3] = table[entry]
                            target[index * 3 + 1] = table[entry + 1]
                            target[index * 3 + 2] = table[entry + 2]
                        }
                    }
                case .i16:
                    UnsafeRawBufferPointer(source).withMemoryRebound(to: UInt16.self) { grey in
                        for index in 0..<count {
                            let value = grey[index] > 255 ? 255 : UInt8(grey[index])
                            target[index * 3] = value
                            target[index * 3 + 1] = value
                            target[index * 3 + 2] = value
                        }
                    }
                case .cmyk:
                    for index in 0..<count {
                        let black = 255 - Int(source[index * 4 + 3])
                        for channel in 0..<3 {
                            target[index * 3 + channel] = Self.cmykChannel(Int(source[index * 4 + channel]), black)
                        }
                    }
                }
            }
        }
        // `pixels` is non-empty and sized width * height * 3, so this cannot fail.
        var image = RGBImage(width: width, height: height, pixels: pixels)!
        image.transparentColor = transparentColorAfterConversion()
        return image
    }

    /// Pillow's CMYK -> RGB channel: `clip(nk - round(c * nk / 255))` with nk = 255 - K,
    /// using its (x * y + 128) fixed-point division by 255.
    @inline(__always)
    static func cmykChannel(_ ink: Int, _ nk: Int) -> UInt8 {
        let product = ink * nk + 128
        let scaled = ((product >> 8) + product) >> 8
        let value = nk - scaled
        return UInt8(clamping: value)
    }

    /// Pillow's `info["transparency"]` after `convert("RGB")`, as the 8-bit colour
    /// that a later RGB -> RGBA conversion treats as transparent.
    func transparentColorAfterConversion() -> RGBColor? {
        guard let transparency else { return nil }
        func masked(_ value: Int) -> UInt8 { UInt8(truncatingIfNeeded: value) }
        switch transparency {
        case .paletteIndex(let index):
            // Converted through the palette like any pixel.
            guard index >= 0, index < 256, mode == .p || mode == .pa else { return nil }
            return RGBColor(red: palette[index * 3], green: palette[index * 3 + 1], blue: palette[index * 3 + 2])
        case .grey(let value):
            // Pillow puts the value into a one-pixel "L" image (clipping to 255) and converts it.
            let grey = UInt8(clamping: value)
            return RGBColor(red: grey, green: grey, blue: grey)
        case .rgb(let red, let green, let blue):
            return RGBColor(red: masked(red), green: masked(green), blue: masked(blue))
        case .integer(let value):
            // Kept untouched by convert("RGB"); Pillow later reads a bare int as (t, 0, 0).
            return RGBColor(red: masked(value), green: 0, blue: 0)
        }
    }
}
