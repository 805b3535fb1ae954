import Foundation
import Imaging
import Processing
import Testing
import Torch

@testable import EmbeddingService

/// The tensor the engine hands the model is the image input's pixel memory itself, not a copy,
/// and it keeps that memory alive for as long as libtorch holds it.
@Suite struct ImageInputTensorTests {
    static let tinyModel = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/tiny-model")

    func input() throws -> ImageInput {
        let config = try Idefics3ProcessorConfig.load(directory: Self.tinyModel)
        let tiler = try #require(Idefics3ImageProcessor(config: config))
        let preprocessor = ImagePreprocessor(
            processor: try Processor(checkpointDirectory: Self.tinyModel), decoder: ImageDecoder(), tiler: tiler)
        let pixels = (0..<(90 * 40 * 3)).map { UInt8($0 % 251) }
        return try preprocessor.input(try #require(RGBImage(width: 90, height: 40, pixels: pixels)))
    }

    @Test func tensorIsMadeOverThePixelMemory() throws {
        let input = try input()
        let tensor = try input.tilesTensor()
        #expect(tensor.shape == input.pixelShape && tensor.dtype == .float32)
        let tensorAddress = tensor.withUnsafeBytes { Int(bitPattern: $0.baseAddress) }
        #expect(tensorAddress == Int(bitPattern: input.pixels.values.baseAddress), "the tensor must not copy the pixels")
        #expect(try tensor.floats() == Array(input.pixels.values))
    }

    @Test func tensorKeepsThePixelMemoryAlive() throws {
        weak var memory: PixelMemory?
        var tensor: Tensor?
        do {
            let input = try input()
            memory = input.pixels
            tensor = try input.tilesTensor()
        }
        #expect(memory != nil, "the tensor must own the pixel memory")
        let sum = try #require(tensor).sum(dims: [0, 1, 2, 3]).item()
        #expect(sum.isFinite)
        tensor = nil
        #expect(memory == nil, "freeing the tensor must free the pixel memory")
    }
}
