import Foundation
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// The unpadded image path in its stages (`imageBatch` → `imageFeatures(of:)` → `embed`), which
/// `embedImages(inputIds:tiles:)` chains and the model benchmark times one by one.
@Suite struct ImageBatchTests {
    @Test func promptsAndTileTensorsMustPair() throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let fixture = try FixtureCase(file: file, name: "image_many_tiles")
        let tiles = try file.tensor("pixels.page.split")
        #expect(throws: ColModernVBertError.invalidInput("2 image prompts but 1 tile tensors")) {
            try model.embedImages(inputIds: [try fixture.item(0).ids, try fixture.item(0).ids], tiles: [tiles])
        }
    }

    /// Each item's tiles stay their own part (no concatenated copy of the pixels), and the features
    /// of the parts, in order, are those of all tiles at once.
    @Test func itemsKeepTheirTilesApartAndFeaturesFollowTheirOrder() throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let description = try #require(try Fixtures.cases.get().image_cases["images_mixed_right_padded"])
        let fixture = try FixtureCase(file: file, name: "images_mixed_right_padded")
        let ids = try description.pixels.indices.map { try fixture.item($0).ids }
        let tiles = try description.pixels.map { try file.tensor("pixels." + $0) }
        let batch = try model.imageBatch(inputIds: ids, tiles: tiles)
        #expect(batch.tiles.parts.count == tiles.count)
        #expect(batch.tiles.realTilesPerItem == tiles.map { $0.size(0) })
        let perItem = try #require(try model.imageFeatures(of: batch))
        let together = try model.imageFeatures(Tensor.cat(tiles, dim: 0))
        #expect(perItem.shape == together.shape)
        #expect(try maxAbsDifference(perItem, together) <= 1e-5)
        let output = try model.embed(batch, imageFeatures: perItem)
        for (index, embedding) in output.enumerated() {
            #expect(maxAbsDifference(embedding.rows, try fixture.item(index).reference) <= fidelityTolerance)
        }
    }
}
