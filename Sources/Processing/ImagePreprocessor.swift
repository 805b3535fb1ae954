import Imaging
import Tokenizers

/// Encoded image bytes to an `ImageInput`: decode (Pillow's RGB conversion), predict the tile
/// layout from the size, build the prompt, then resize and tile straight into the input's pixel
/// memory. The prompt comes first so that a prompt too long for the model fails before any
/// resampling work.
///
/// Runs on the caller's (request) thread; a value type with no shared state.
public struct ImagePreprocessor: Sendable {
    public let processor: Processor
    public let decoder: ImageDecoder
    public let tiler: Idefics3ImageProcessor

    public init(processor: Processor, decoder: ImageDecoder, tiler: Idefics3ImageProcessor) {
        self.processor = processor
        self.decoder = decoder
        self.tiler = tiler
    }

    /// Throws `ImagingError` for bytes that are no usable image and `TokenizerError` for a prompt
    /// longer than the model accepts.
    public func input(encoded bytes: [UInt8]) throws -> ImageInput {
        try input(decoder.decodeRGB(bytes))
    }

    public func input(_ image: RGBImage) throws -> ImageInput {
        let layout = tiler.layout(width: image.width, height: image.height)
        let prompt = try processor.imagePrompt(layout)
        let pixels = PixelMemory(count: layout.valueCount)
        let written: TileLayout
        do {
            written = try tiler.process(image, into: pixels.writable)
        } catch {
            throw ProcessingError.tilingMismatch(predicted: layout, processed: nil)
        }
        guard written == layout else { throw ProcessingError.tilingMismatch(predicted: layout, processed: written) }
        return ImageInput(prompt: prompt, pixels: pixels, imageWidth: image.width, imageHeight: image.height)
    }
}
