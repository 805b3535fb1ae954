import Foundation
import Testing

@testable import Imaging

/// Every source image decodes to exactly Pillow's `convert("RGB")` bytes.
@Suite struct DecodeFixtureTests {
    let fixtures = ImageFixtures.committed

    @Test(arguments: ImageFixtures.sourceNames)
    func decodesLikePillow(name: String) throws {
        let source = try #require(fixtures.expected.sources[name])
        let decoded = try ImageDecoder().decode(try fixtures.bytes(source.file))
        #expect(decoded.width == source.width && decoded.height == source.height)
        #expect(Self.matches(decoded.mode, pillowMode: source.pillow_mode), "mode \(decoded.mode) vs \(source.pillow_mode)")
        let rgb = decoded.rgb()
        #expect(channelSums(rgb.pixels) == source.rgb_channel_sums)
        #expect(fnv1a64(rgb.pixels) == source.rgb_fnv1a64)
        // The reference processor's own RGB step (transparent colour painted white).
        let whitened = rgb.compositingTransparentColorOnWhite()
        #expect(fnv1a64(whitened.pixels) == source.processor_rgb_fnv1a64)
        #expect((whitened.pixels != rgb.pixels) == source.processor_rgb_differs)
    }

    /// Our modes keep the information of Pillow's (1 and 2/4-bit grey are stored as L).
    static func matches(_ mode: DecodedImage.Mode, pillowMode: String) -> Bool {
        switch pillowMode {
        case "1", "L": return mode == .l || mode == .p
        case "LA": return mode == .la
        case "RGB": return mode == .rgb || mode == .rgba
        case "RGBA": return mode == .rgba || mode == .la
        case "P": return mode == .p
        case "PA": return mode == .pa
        case "I;16", "I;16B": return mode == .i16
        case "CMYK": return mode == .cmyk
        default: return false
        }
    }

    @Test func sniffsEveryFormat() throws {
        let byFormat: [ImageFormat: String] = [
            .jpeg: "sources/jpeg_progressive.jpg", .png: "sources/png_rgb.png", .gif: "sources/gif_palette.gif",
            .webp: "sources/webp_lossy.webp", .tiff: "sources/tiff_rgb.tif", .bmp: "sources/bmp_24.bmp",
        ]
        for (format, file) in byFormat {
            let bytes = try fixtures.bytes(file)
            #expect(bytes.withUnsafeBytes { ImageFormat.sniff($0) } == format)
            #expect(try ImageDecoder().decode(bytes).format == format)
        }
        #expect(ImageFormat.sniff(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }

    @Test func exifOrientationIsNotApplied() throws {
        let decoded = try ImageDecoder().decode(try fixtures.bytes("sources/jpeg_exif_rotated.jpg"))
        #expect(decoded.width == 31 && decoded.height == 17)
    }

    @Test func decodesFromDataAndArraysAlike() throws {
        let bytes = try fixtures.bytes("sources/png_palette.png")
        let fromArray = try ImageDecoder().decodeRGB(bytes)
        let fromData = try ImageDecoder().decodeRGB(Foundation.Data(bytes))
        #expect(fromArray == fromData)
    }
}
