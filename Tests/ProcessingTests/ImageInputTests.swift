import Foundation
import Imaging
import Processing
import Testing
import Tokenizers

/// `ImagePreprocessor` turns encoded bytes into the one image input: the prompt for the layout the
/// image processor produced, and the tiles written straight into the input's pixel memory.
@Suite struct ImageInputTests {
    let preprocessor: ImagePreprocessor

    init() throws {
        let config = try Idefics3ProcessorConfig.load(directory: Fixtures.geometryDirectory("tiny"))
        let tiler = try #require(Idefics3ImageProcessor(config: config))
        preprocessor = ImagePreprocessor(processor: try Fixtures.processor(geometry: "tiny"), decoder: ImageDecoder(), tiler: tiler)
    }

    static let sources = ["size_page_850x1100.jpg", "size_wide_2000x100.jpg", "png_1x1.png", "size_300x97.jpg", "gif_transparent.gif"]

    @Test(arguments: sources)
    func inputHoldsTheProcessorsTilesAndTheLayoutsPrompt(_ name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Fixtures.root.appendingPathComponent("Tests/Fixtures/images/sources/\(name)")))
        let input = try preprocessor.input(encoded: bytes)
        let rgb = try ImageDecoder().decodeRGB(bytes)
        let processed = preprocessor.tiler.process(rgb)
        #expect(input.layout == processed.layout)
        #expect(input.pixelShape == processed.shape)
        #expect(input.pixels.count == processed.pixelValues.count)
        #expect(Array(input.pixels.values) == processed.pixelValues, "\(name): pixels differ from process(_:)")
        #expect(input.prompt == (try preprocessor.processor.imagePrompt(processed.layout)))
        #expect(input.prompt.imagePatchCount == input.layout.tileCount * preprocessor.processor.configuration.imageSeqLen)
        #expect(input.imageWidth == rgb.width && input.imageHeight == rgb.height)
        let address = Int(bitPattern: input.pixels.values.baseAddress)
        #expect(address % PixelMemory.alignment == 0)
    }

    @Test func undecodableBytesAreAnImagingError() {
        #expect(throws: ImagingError.self) { _ = try preprocessor.input(encoded: Array("not an image".utf8)) }
        #expect(throws: ImagingError.self) { _ = try preprocessor.input(encoded: []) }
    }

    @Test func aPromptPastTheLimitIsATokenizerError() throws {
        // Room for the prompt of a wide strip (1x4 tiles here), not for a square's (4x4).
        let wide = try #require(RGBImage(width: 2000, height: 100, pixels: [UInt8](repeating: 200, count: 2000 * 100 * 3)))
        let square = try #require(RGBImage(width: 1, height: 1, pixels: [1, 2, 3]))
        let wideLayout = preprocessor.tiler.layout(width: wide.width, height: wide.height)
        #expect(wideLayout.tileCount < preprocessor.tiler.layout(width: 1, height: 1).tileCount)
        var configuration = preprocessor.processor.configuration
        configuration.maxSequenceLength = try preprocessor.processor.imagePrompt(wideLayout).inputIDs.count
        let limited = ImagePreprocessor(
            processor: try Processor(tokenizer: preprocessor.processor.tokenizer, configuration: configuration),
            decoder: preprocessor.decoder, tiler: preprocessor.tiler)
        #expect(throws: TokenizerError.self) { _ = try limited.input(square) }
        #expect(try limited.input(wide).layout == wideLayout)
    }
}
