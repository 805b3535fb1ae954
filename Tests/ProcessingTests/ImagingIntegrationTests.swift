import Foundation
import Imaging
import Processing
import Testing

/// Images tiled by the Imaging module's Idefics3 processor get the reference prompt ids:
/// the grid it reports agrees with the reference image processor's.
@Suite struct ImagingIntegrationTests {
    @Test func tiledImagesGetTheReferencePrompt() throws {
        let processor = try Fixtures.processor(geometry: "tiny")
        let expected = try Fixtures.expected(geometry: "tiny")
        let config = try Idefics3ProcessorConfig.load(directory: Fixtures.geometryDirectory("tiny"))
        #expect(config.imageSeqLen == processor.configuration.imageSeqLen)
        let imageProcessor = try #require(Idefics3ImageProcessor(config: config))
        let split = expected.images.filter(\.splitting)
        #expect(split.count >= 5)
        for reference in split {
            let pixels = [UInt8](repeating: 128, count: reference.width * reference.height * 3)
            let image = try #require(RGBImage(width: reference.width, height: reference.height, pixels: pixels))
            let grid = imageProcessor.process(image).layout
            #expect(grid.rows == reference.rows && grid.cols == reference.cols, "\(reference.width)x\(reference.height)")
            #expect(try processor.imagePrompt(grid).inputIDs == reference.input_ids, "\(reference.width)x\(reference.height)")
        }
    }
}
