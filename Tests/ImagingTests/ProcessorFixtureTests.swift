import Foundation
import Testing

@testable import Imaging

/// Pixel values equal the reference Idefics3 processor's (tolerance from the
/// issue: max abs diff <= 0.02, mean <= 0.002; in practice they are identical).
@Suite struct ProcessorFixtureTests {
    let fixtures = ImageFixtures.committed

    @Test(arguments: ImageFixtures.processedCases)
    func matchesReference(caseName: String) throws {
        let parts = caseName.split(separator: "@").map(String.init)
        let source = try #require(fixtures.expected.sources[parts[0]])
        let expected = try #require(source.processed.first { $0.config == parts[1] })
        let config = try fixtures.config(expected.config)
        let processor = try #require(Idefics3ImageProcessor(config: config))
        let image = try ImageDecoder().decodeRGB(try fixtures.bytes(source.file))
        let processed = processor.process(image)
        #expect(processed.rows == expected.rows && processed.cols == expected.cols)
        #expect(processed.tileCount == expected.tile_count)
        #expect(processed.tileCount == (expected.rows == 0 ? 1 : expected.rows * expected.cols + 1))
        #expect(processed.tileWidth == expected.tile_size && processed.tileHeight == expected.tile_size)
        #expect(processed.shape == [expected.tile_count, 3, expected.tile_size, expected.tile_size])
        let tiles = try ImageDecoder().decodeRGB(try fixtures.bytes(expected.tiles_file))
        try #require(tiles.pixels.count * 4 == processed.pixelValues.count * 4)
        let comparison = compareToReference(processed, tiles: tiles, lut: fixtures.lut(expected.config))
        #expect(comparison.maxDiff <= 0.02, "\(caseName): max abs diff \(comparison.maxDiff)")
        #expect(comparison.meanDiff <= 0.002, "\(caseName): mean abs diff \(comparison.meanDiff)")
        #expect(comparison.exact, "\(caseName): not bit-identical (max \(comparison.maxDiff))")
    }

    @Test func layoutPredictsTheGridAndProcessIntoFillsCallerMemory() throws {
        let processor = try #require(Idefics3ImageProcessor(config: try fixtures.config("tiny")))
        for name in ["size_wide_2000x100", "size_tall_100x2000", "png_1x1", "size_64x64", "size_300x97"] {
            let source = try #require(fixtures.expected.sources[name])
            let image = try ImageDecoder().decodeRGB(try fixtures.bytes(source.file))
            let layout = processor.layout(width: image.width, height: image.height)
            let processed = processor.process(image)
            #expect(layout == TileLayout(rows: processed.rows, cols: processed.cols, tileSize: processed.tileWidth))
            #expect(layout.tileCount == processed.tileCount && layout.valueCount == processed.pixelValues.count)
            var buffer = [Float](repeating: .nan, count: layout.valueCount + 5)
            let written = try buffer.withUnsafeMutableBufferPointer { try processor.process(image, into: $0) }
            #expect(written == layout)
            #expect(Array(buffer[0..<layout.valueCount]) == processed.pixelValues)
            #expect(buffer[layout.valueCount...].allSatisfy { $0.isNaN })
            var small = [Float](repeating: 0, count: layout.valueCount - 1)
            #expect(throws: Idefics3ImageProcessor.BufferTooSmall(needed: layout.valueCount, provided: small.count)) {
                try small.withUnsafeMutableBufferPointer { try processor.process(image, into: $0) }
            }
        }
    }

    @Test func normalisationTableIsTheReferences() throws {
        for name in ["tiny", "published"] {
            let table = NormalizationTable(config: try fixtures.config(name))
            #expect(table.values == fixtures.lut(name).flatMap { $0 })
        }
    }

    @Test func unsplitConfigGivesOneTile() throws {
        var config = try fixtures.config("tiny")
        config.doImageSplitting = false
        let processor = try #require(Idefics3ImageProcessor(config: config))
        let image = try ImageDecoder().decodeRGB(try fixtures.bytes("sources/png_rgb.png"))
        let processed = processor.process(image)
        #expect(processed.rows == 0 && processed.cols == 0 && processed.tileCount == 1)
        #expect(processed.shape == [1, 3, 64, 64])
    }

    @Test func multithreadedProcessingIsIdentical() throws {
        let config = try fixtures.config("tiny")
        let image = try ImageDecoder().decodeRGB(try fixtures.bytes("sources/size_513x512.jpg"))
        let single = try #require(Idefics3ImageProcessor(config: config, maxThreads: 1)).process(image)
        let multi = try #require(Idefics3ImageProcessor(config: config, maxThreads: 4)).process(image)
        #expect(single == multi)
    }

    @Test func concurrentRequestsDoNotInterfere() async throws {
        let config = try fixtures.config("tiny")
        let processor = try #require(Idefics3ImageProcessor(config: config))
        let files = [
            "sources/png_rgb.png", "sources/gif_transparent.gif", "sources/jpeg_cmyk_adobe.jpg",
            "sources/webp_lossy.webp",
        ]
        let inputs = try files.map { try fixtures.bytes($0) }
        let serial = try inputs.map { processor.process(try ImageDecoder().decodeRGB($0)) }
        let parallel = try await withThrowingTaskGroup(of: (Int, ProcessedImage).self) { group in
            for round in 0..<3 {
                for (index, bytes) in inputs.enumerated() {
                    group.addTask { (index + round * 0, processor.process(try ImageDecoder().decodeRGB(bytes))) }
                }
            }
            var results: [(Int, ProcessedImage)] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(parallel.count == 12)
        for (index, processed) in parallel {
            #expect(processed == serial[index])
        }
    }
}

/// Page-sized cases at the published geometry, generated on demand:
///   python scripts/fixtures/make_image_fixtures.py --large DIR
///   IMAGING_LARGE_FIXTURES=DIR swift test --filter LargeFixtureTests
/// (without the variable the suite has nothing to check and is disabled).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["IMAGING_LARGE_FIXTURES"] != nil))
struct LargeFixtureTests {
    @Test func matchesReferenceOnPages() throws {
        let folder = try #require(ProcessInfo.processInfo.environment["IMAGING_LARGE_FIXTURES"])
        let fixtures = try ImageFixtures(root: URL(fileURLWithPath: folder))
        let processor = try #require(
            Idefics3ImageProcessor(config: try fixtures.config("published"), maxThreads: 2))
        #expect(!fixtures.expected.sources.isEmpty)
        for (name, source) in fixtures.expected.sources.sorted(by: { $0.key < $1.key }) {
            let rgb = try ImageDecoder().decodeRGB(try fixtures.bytes(source.file))
            #expect(fnv1a64(rgb.pixels) == source.rgb_fnv1a64, "\(name) decode")
            // Timing for the report: best of three (the machine may be shared).
            let clock = ContinuousClock()
            var processed: ProcessedImage?
            var elapsed = Duration.seconds(1_000)
            for _ in 0..<3 {
                elapsed = min(elapsed, clock.measure { processed = processor.process(rgb) })
            }
            let result = try #require(processed)
            let expected = try #require(source.processed.first)
            #expect(result.rows == expected.rows && result.cols == expected.cols, "\(name) grid")
            let tiles = try ImageDecoder().decodeRGB(try fixtures.bytes(expected.tiles_file))
            let comparison = compareToReference(result, tiles: tiles, lut: fixtures.lut("published"))
            #expect(comparison.maxDiff <= 0.02 && comparison.meanDiff <= 0.002, "\(name)")
            print(
                "large \(name) \(rgb.width)x\(rgb.height): \(result.rows)x\(result.cols) tiles, "
                    + "max diff \(comparison.maxDiff), exact \(comparison.exact), processed in \(elapsed)")
        }
    }
}
