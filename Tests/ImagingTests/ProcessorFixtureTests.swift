import Foundation
import Testing

@testable import Imaging

/// Pixel values bit-equal to the reference Idefics3 processor's, in each of
/// transformers' two backends (torchvision, which the replaced service ran, and PIL).
@Suite struct ProcessorFixtureTests {
    let fixtures = ImageFixtures.committed

    /// Every processed case ("source@config@backend"): same grid, and every tile's
    /// float32 values are exactly the reference's.
    @Test(arguments: ImageFixtures.processedCases)
    func matchesReference(caseName: String) throws {
        let parts = caseName.split(separator: "@").map(String.init)
        let source = try #require(fixtures.expected.sources[parts[0]])
        let expected = try #require(source.processed.first { $0.config == parts[1] && $0.backend == parts[2] })
        let backend = try #require(ImageBackend(rawValue: expected.backend))
        let config = try fixtures.config(expected.config)
        let processor = try #require(Idefics3ImageProcessor(config: config, backend: backend))
        let image = try ImageDecoder().decodeRGB(try fixtures.bytes(source.file))
        let processed = processor.process(image)
        #expect(processed.rows == expected.rows && processed.cols == expected.cols)
        #expect(processed.tileCount == expected.tile_count)
        #expect(processed.tileCount == (expected.rows == 0 ? 1 : expected.rows * expected.cols + 1))
        #expect(processed.tileWidth == expected.tile_size && processed.tileHeight == expected.tile_size)
        #expect(processed.shape == [expected.tile_count, 3, expected.tile_size, expected.tile_size])
        let comparison = TileComparison(processed, reference: expected, lut: fixtures.lut(expected.config, backend: backend))
        #expect(comparison.exact, "\(caseName): \(comparison.summary)")
    }

    /// Where the references of the two backends disagree on many bytes (tall, narrow
    /// images), each backend's output misses the other's reference: the test above
    /// tells the backends apart, and the default is the torchvision one.
    @Test func backendsDifferWhereTheReferencesDo() throws {
        let cases = fixtures.expected.sources.sorted { $0.key < $1.key }.flatMap { name, source in
            source.processed.filter { $0.backend == "torchvision" && $0.bytes_differing_from_other_backend > 0 }
                .map { (name, source, $0) }
        }
        let strongly = cases.filter { $0.2.bytes_differing_from_other_backend * 10 > $0.2.tile_count * $0.2.tile_size * $0.2.tile_size * 3 }
        #expect(strongly.count >= 5)
        for (name, source, expected) in strongly.prefix(6) {
            let config = try fixtures.config(expected.config)
            let image = try ImageDecoder().decodeRGB(try fixtures.bytes(source.file))
            let pil = try #require(Idefics3ImageProcessor(config: config, backend: .pil)).process(image)
            let lut = fixtures.lut(expected.config, backend: .torchvision)
            let crossed = TileComparison(pil, reference: expected, lut: fixtures.lut(expected.config, backend: .pil))
            #expect(!crossed.mismatchedTiles.isEmpty, "\(name): the PIL backend's output matches the torchvision reference")
            let standard = try #require(Idefics3ImageProcessor(config: config))
            #expect(standard.backend == .torchvision)
            #expect(TileComparison(standard.process(image), reference: expected, lut: lut).exact, "\(name)")
        }
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
            for backend in ImageBackend.allCases {
                let table = NormalizationTable(config: try fixtures.config(name), backend: backend)
                #expect(table.values == fixtures.lut(name, backend: backend).flatMap { $0 }, "\(name) \(backend)")
            }
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
        for backend in ImageBackend.allCases {
            let single = try #require(Idefics3ImageProcessor(config: config, backend: backend, maxThreads: 1)).process(image)
            let multi = try #require(Idefics3ImageProcessor(config: config, backend: backend, maxThreads: 4)).process(image)
            #expect(single == multi, "\(backend)")
        }
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
        #expect(!fixtures.expected.sources.isEmpty)
        for (name, source) in fixtures.expected.sources.sorted(by: { $0.key < $1.key }) {
            let rgb = try ImageDecoder().decodeRGB(try fixtures.bytes(source.file))
            #expect(fnv1a64(rgb.pixels) == source.rgb_fnv1a64, "\(name) decode")
            for expected in source.processed {
                let backend = try #require(ImageBackend(rawValue: expected.backend))
                let processor = try #require(
                    Idefics3ImageProcessor(config: try fixtures.config(expected.config), backend: backend, maxThreads: 2))
                // Timing for the report: best of three (the machine may be shared).
                let clock = ContinuousClock()
                var processed: ProcessedImage?
                var elapsed = Duration.seconds(1_000)
                for _ in 0..<3 {
                    elapsed = min(elapsed, clock.measure { processed = processor.process(rgb) })
                }
                let result = try #require(processed)
                #expect(result.rows == expected.rows && result.cols == expected.cols, "\(name) grid")
                let lut = fixtures.lut(expected.config, backend: backend)
                let comparison = TileComparison(result, reference: expected, lut: lut)
                #expect(comparison.exact, "\(name) \(backend): \(comparison.summary)")
                print(
                    "large \(name) \(backend) \(rgb.width)x\(rgb.height): \(result.rows)x\(result.cols) tiles, "
                        + "exact \(comparison.exact), processed in \(elapsed)")
            }
        }
    }
}
