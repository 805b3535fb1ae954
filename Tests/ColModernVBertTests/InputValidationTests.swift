import Foundation
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// Malformed inputs are reported as errors, never crashes.
@Suite struct InputValidationTests {
    @Test func imageTokenCountMustMatchTheTiles() throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let fixture = try FixtureCase(file: file, name: "image_many_tiles")
        let tiles = try file.tensor("pixels.page.split")  // 13 tiles → 52 image tokens
        var ids = try fixture.item(0).ids
        #expect(ids.filter { $0 == model.imageTokenId }.count == 13 * model.imageSeqLen)
        let fewerTiles = try tiles.narrow(dim: 0, start: 0, length: 12)
        #expect(throws: ColModernVBertError.imageTokenMismatch(item: 0, imageTokens: 52, imageFeatures: 48)) {
            try model.embedImages(inputIds: [ids], tiles: [fewerTiles])
        }
        if let first = ids.firstIndex(of: model.imageTokenId) { ids.remove(at: first) }
        #expect(throws: ColModernVBertError.imageTokenMismatch(item: 0, imageTokens: 51, imageFeatures: 52)) {
            try model.embedImages(inputIds: [ids], tiles: [tiles])
        }
        // A query holding <image> tokens without pixels.
        #expect(throws: ColModernVBertError.imageTokenMismatch(item: 0, imageTokens: 51, imageFeatures: 0)) {
            try model.embedQueries([ids])
        }
    }

    @Test func paddedPixelBatchChecksEachItem() throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let fixture = try FixtureCase(file: file, name: "images_mixed_right_padded")
        // The pictures swapped: both items' tile counts now disagree with their prompts.
        let swapped = try pixelValues(for: ["page.split", "wide.split"], in: file)
        #expect(throws: ColModernVBertError.imageTokenMismatch(item: 0, imageTokens: 36, imageFeatures: 52)) {
            try model.embedImages(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: swapped)
        }
    }

    @Test func malformedTensorsAreRejected() throws {
        let model = try Fixtures.tinyModelLoaded()
        let ids = try Tensor(int64s: [1, 2, 3], shape: [1, 3])
        let mask = try Tensor.ones([1, 3], dtype: .int64)
        #expect(throws: ColModernVBertError.self) {
            try model.embedQueries(inputIds: try Tensor(int64s: [1, 2, 3], shape: [3]), attentionMask: mask)
        }
        #expect(throws: ColModernVBertError.self) {
            try model.embedQueries(inputIds: ids, attentionMask: try Tensor.ones([1, 4], dtype: .int64))
        }
        #expect(throws: ColModernVBertError.invalidInput("token id 999999 is outside the vocabulary of 3056")) {
            try model.embedQueries([[1, 999_999]])
        }
        #expect(throws: ColModernVBertError.invalidInput("token id -1 is outside the vocabulary of 3056")) {
            try model.embedQueries([[-1]])
        }
        #expect(throws: ColModernVBertError.self) { try model.embedQueries([]) }
        #expect(throws: ColModernVBertError.self) { try model.embedQueries([[]]) }
        #expect(throws: ColModernVBertError.self) {
            try model.embedQueries(inputIds: ids, attentionMask: try Tensor.zeros([1, 3], dtype: .int64))
        }
        #expect(throws: ColModernVBertError.self) {
            try model.embedImages(inputIds: ids, attentionMask: mask, pixelValues: try Tensor.zeros([1, 1, 3, 32, 32]))
        }
        #expect(throws: ColModernVBertError.self) {
            try model.embedImages(inputIds: [[1, 2]], tiles: [try Tensor.zeros([1, 3, 64])])
        }
    }

    @Test func allPaddingTilesMeanNoImage() throws {
        let model = try Fixtures.tinyModelLoaded()
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: "query_0")
        let zeros = try Tensor.zeros([1, 2, 3, 64, 64])
        let withTiles = try model.embedImages(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: zeros)
        let plain = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        #expect(withTiles == plain)
    }
}
