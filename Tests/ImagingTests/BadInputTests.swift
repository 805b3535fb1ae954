import Foundation
import Testing

@testable import Imaging

/// Truncated, corrupt, zero-size, oversized and unsupported inputs are typed
/// errors, never crashes, and oversized ones are refused before allocation.
@Suite struct BadInputTests {
    let fixtures = ImageFixtures.committed

    @Test(arguments: ImageFixtures.badNames)
    func failsWithTheRightError(name: String) throws {
        let bad = try #require(fixtures.expected.bad[name])
        let bytes = try fixtures.bytes(bad.file)
        let error = #expect(throws: ImagingError.self) { try ImageDecoder().decode(bytes) }
        let kind: String
        switch error {
        case .undecodable?: kind = "undecodable"
        case .unsupportedFormat?: kind = "unsupported"
        case .zeroSize?: kind = "zeroSize"
        case .tooManyPixels?: kind = "tooManyPixels"
        case .outOfMemory?: kind = "outOfMemory"
        case nil: kind = "none"
        }
        #expect(kind == bad.error, "\(name): \(String(describing: error))")
        #expect(error.map { !$0.description.isEmpty } == true)
    }

    @Test func defaultLimitIsPillowsErrorThreshold() {
        #expect(ImageDecoder.pillowMaxImagePixels == fixtures.expected.pillow_max_image_pixels)
        #expect(ImageDecoder().maxPixels == 2 * fixtures.expected.pillow_max_image_pixels)
    }

    @Test func bombReportsTheDeclaredSize() throws {
        let bytes = try fixtures.bytes("bad/png_bomb.bin")
        #expect(bytes.count < 2_000)
        #expect(throws: ImagingError.tooManyPixels(width: 50_000, height: 50_000, limit: 2 * 89_478_485)) {
            try ImageDecoder().decode(bytes)
        }
    }

    @Test(arguments: [
        "sources/png_rgb.png", "sources/jpeg_progressive.jpg", "sources/gif_palette.gif",
        "sources/webp_lossy.webp", "sources/tiff_rgb_lzw.tif", "sources/bmp_24.bmp",
    ])
    func limitIsConfigurableAndInclusive(file: String) throws {
        let bytes = try fixtures.bytes(file)
        let pixels = 37 * 23
        #expect(try ImageDecoder(maxPixels: pixels).decode(bytes).width == 37)
        #expect(throws: ImagingError.tooManyPixels(width: 37, height: 23, limit: pixels - 1)) {
            try ImageDecoder(maxPixels: pixels - 1).decode(bytes)
        }
    }

    @Test func everyPrefixOfAValidFileFailsCleanly() throws {
        // Cut each format at many points: every prefix is an error value, none crashes.
        // (The last 16 bytes are spared: PNG's IEND or GIF's trailer may be missing
        // without losing pixels, and Pillow accepts those files too.)
        for file in [
            "sources/jpeg_baseline_ss2.jpg", "sources/png_rgb_interlaced.png", "sources/gif_interlaced.gif",
            "sources/webp_lossless.webp", "sources/tiff_rgb_jpeg.tif", "sources/bmp_8.bmp",
        ] {
            let bytes = try fixtures.bytes(file)
            for length in stride(from: 0, to: bytes.count - 16, by: max(1, bytes.count / 97)) {
                #expect(throws: ImagingError.self, "\(file) cut at \(length)") {
                    try ImageDecoder().decode(Array(bytes[0..<length]))
                }
            }
        }
    }

    @Test func flippedBytesNeverCrash() throws {
        // Corruption inside the data either still decodes or is a typed error.
        var generator = SplitMix(seed: 7)
        for file in [
            "sources/jpeg_progressive.jpg", "sources/png_palette.png", "sources/gif_palette.gif",
            "sources/webp_lossy.webp", "sources/tiff_rgb_lzw.tif", "sources/bmp_4.bmp",
        ] {
            let original = try fixtures.bytes(file)
            for _ in 0..<60 {
                var bytes = original
                for _ in 0..<4 {
                    let index = Int(generator.next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                }
                do {
                    let image = try ImageDecoder(maxPixels: 1 << 22).decode(bytes)
                    #expect(image.samples.count == image.width * image.height * image.mode.bytesPerPixel)
                } catch {
                    #expect(!error.description.isEmpty)
                }
            }
        }
    }

    @Test func errorsNameTheFormat() throws {
        let truncated = try fixtures.bytes("bad/png_truncated.bin")
        #expect(throws: ImagingError.self) { try ImageDecoder().decode(truncated) }
        do {
            _ = try ImageDecoder().decode(truncated)
        } catch {
            guard case .undecodable(let format, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(format == .png)
            #expect(error.description.contains("PNG"))
        }
        let avif = try fixtures.bytes("bad/avif_signature.bin")
        #expect(throws: ImagingError.unsupportedFormat("AVIF")) { try ImageDecoder().decode(avif) }
    }
}

/// Small deterministic generator for the corruption test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
