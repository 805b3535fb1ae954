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

    /// Mean, std and rescale factor decode to the float32 values Python gets from the same text
    /// (`np.float32(float(text))`; bit patterns printed by the reference venv), so that normalised
    /// pixels can be bit-equal.
    @Test func decimalsReproducePythonsFloat32Values() throws {
        let config = try Idefics3ProcessorConfig(
            json: Data(
                #"{"image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711], "rescale_factor": 0.00392156862745098}"#
                    .utf8))
        let python: [UInt32] = [0x3ef6_813a, 0x3eea_685e, 0x3ed1_00ff, 0x3e89_89d0, 0x3e85_c974, 0x3e8d_32a8, 0x3b80_8081]
        let ours = (config.imageMean + config.imageStd + [config.rescaleFactor]).map { Float($0).bitPattern }
        #expect(ours == python)
        // And the doubles themselves, as Python's float() reads the text.
        #expect(config.rescaleFactor.bitPattern == 0x3f70_1010_1010_1010)
        #expect(config.imageMean[0].bitPattern == 0x3fde_d027_34cd_3c33)
    }

    @Test func nestedFieldErrorsNameTheirPath() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-nested-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"image_processor": {"do_pad": "no"}, "image_seq_len": 4}"#.utf8)
            .write(to: folder.appendingPathComponent("processor_config.json"))
        do {
            _ = try Idefics3ProcessorConfig.load(directory: folder)
            Issue.record("accepted a string do_pad")
        } catch {
            guard case .invalid(let field, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(field == "image_processor.do_pad")
            #expect(reason.hasPrefix("processor_config.json"))
        }
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
