import Foundation
import Testing

@testable import Imaging

@Suite struct ConfigTests {
    let fixtures = ImageFixtures.committed

    @Test func loadsBothLayouts() throws {
        let tiny = try fixtures.config("tiny")
        #expect(tiny.longestEdge == 256 && tiny.tileSize == 64 && tiny.imageSeqLen == 4)
        #expect(tiny.resample == .lanczos && tiny.imageMean == [0.5, 0.5, 0.5] && tiny.rescaleFactor == 1.0 / 255.0)
        // Only processor_config.json (nested image_processor) present.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(
            at: fixtures.root.appendingPathComponent("configs/published/processor_config.json"),
            to: folder.appendingPathComponent("processor_config.json"))
        var published = Idefics3ProcessorConfig.published
        published.rescaleFactor = 1.0 / 255.0
        #expect(try Idefics3ProcessorConfig.load(directory: folder) == published)
    }

    @Test func missingConfigIsAnError() {
        let folder = URL(fileURLWithPath: "/nonexistent-\(UUID())")
        #expect(throws: ImageProcessorConfigError.self) { try Idefics3ProcessorConfig.load(directory: folder) }
    }

    @Test(arguments: [
        (#"{"resample": 3}"#, "resample"),
        (#"{"size": {"height": 10, "width": 10}}"#, "size"),
        (#"{"max_image_size": {"longest_edge": 0}}"#, "max_image_size.longest_edge"),
        (#"{"image_mean": [0.5, 0.5]}"#, "image_mean"),
        (#"{"image_std": [0.5, 0, 0.5]}"#, "image_std"),
        (#"{"do_resize": "yes"}"#, "do_resize"),
        (#"{"do_convert_rgb": false}"#, "do_convert_rgb"),
    ])
    func rejectsUnsupportedSettings(json: String, field: String) {
        do {
            _ = try Idefics3ProcessorConfig(json: Data(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            guard case .invalid(let reported, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(reported == field)
        }
    }

    @Test func rejectsMalformedJSON() {
        #expect(throws: ImageProcessorConfigError.self) { try Idefics3ProcessorConfig(json: Data("{".utf8)) }
        #expect(throws: ImageProcessorConfigError.self) { try Idefics3ProcessorConfig(json: Data("[1]".utf8)) }
    }

    @Test func defaultsAreTransformersIdefics3Defaults() throws {
        let config = try Idefics3ProcessorConfig(json: Data("{}".utf8))
        #expect(config.longestEdge == 1456 && config.tileSize == 364 && config.doImageSplitting)
    }
}

@Suite struct BatchTests {
    let fixtures = ImageFixtures.committed

    @Test func padsWithZeroTilesLikeTheReference() throws {
        let processor = try #require(Idefics3ImageProcessor(config: try fixtures.config("tiny")))
        let wide = processor.process(try ImageDecoder().decodeRGB(try fixtures.bytes("sources/size_wide_2000x100.jpg")))
        let square = processor.process(try ImageDecoder().decodeRGB(try fixtures.bytes("sources/size_64x64.png")))
        #expect(wide.tileCount == 5 && square.tileCount == 17)
        let batch = try PixelBatch([wide, square])
        #expect(batch.shape == [2, 17, 3, 64, 64])
        #expect(batch.tileCounts == [5, 17])
        #expect(batch.tileMask == (0..<17).map { $0 < 5 } + Array(repeating: true, count: 17))
        let tile = wide.tileLength
        #expect(Array(batch.pixelValues[0..<(5 * tile)]) == wide.pixelValues)
        #expect(batch.pixelValues[(5 * tile)..<(17 * tile)].allSatisfy { $0 == 0 })
        #expect(Array(batch.pixelValues[(17 * tile)...]) == square.pixelValues)
        // No real tile is all zeros, so the model's "all-zero tile = padding" rule is safe.
        for index in 0..<wide.tileCount {
            #expect(wide.pixelValues[(index * tile)..<((index + 1) * tile)].contains { $0 != 0 })
        }
    }

    @Test func refusesEmptyAndMixedBatches() throws {
        #expect(throws: PixelBatch.Failure.empty) { try PixelBatch([]) }
        let image = try ImageDecoder().decodeRGB(try fixtures.bytes("sources/png_rgb.png"))
        let tiny = try #require(Idefics3ImageProcessor(config: try fixtures.config("tiny"))).process(image)
        var other = try fixtures.config("tiny")
        other.tileSize = 32
        let small = try #require(Idefics3ImageProcessor(config: other)).process(image)
        #expect(throws: PixelBatch.Failure.mixedTileSizes) { try PixelBatch([tiny, small]) }
    }
}

@Suite struct ResamplerTests {
    let fixtures = ImageFixtures.committed

    /// Byte-identical to Pillow's `resize(..., LANCZOS)`, in both pass orders.
    @Test func matchesPillowResize() throws {
        let cases = try #require(fixtures.expected.resizes)
        #expect(cases.count >= 10)
        for item in cases {
            let source = try ImageDecoder().decodeRGB(try fixtures.bytes(item.source))
            let expected = try ImageDecoder().decodeRGB(try fixtures.bytes(item.file))
            for (threads, avx2) in [(1, true), (3, true), (1, false), (2, false)] {
                var resampler = Resampler(maxThreads: threads)
                resampler.allowAVX2 = avx2
                let resized = try #require(resampler.resize(source, width: item.width, height: item.height))
                #expect(resized.pixels == expected.pixels, "\(item.file), \(threads) threads, avx2 \(avx2)")
            }
        }
    }

    @Test func sameSizeIsACopyAndConstantsStayConstant() throws {
        let pixels = (0..<(9 * 7 * 3)).map { UInt8(truncatingIfNeeded: $0 * 37) }
        let image = try #require(RGBImage(width: 9, height: 7, pixels: pixels))
        #expect(Resampler().resize(image, width: 9, height: 7) == image)
        let flat = try #require(RGBImage(width: 5, height: 3, pixels: [UInt8](repeating: 200, count: 45)))
        for (width, height) in [(1, 1), (17, 2), (3, 40), (64, 64)] {
            let resized = try #require(Resampler().resize(flat, width: width, height: height))
            #expect(resized.pixels.allSatisfy { $0 == 200 }, "\(width)x\(height)")
        }
        #expect(Resampler().resize(image, width: 0, height: 3) == nil)
    }

    @Test func rejectsInconsistentImages() {
        #expect(RGBImage(width: 2, height: 2, pixels: [1, 2, 3]) == nil)
        #expect(RGBImage(width: 0, height: 2, pixels: []) == nil)
    }
}
