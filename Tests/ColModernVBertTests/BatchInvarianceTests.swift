import Foundation
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// An input embedded alone or inside a padded batch (left or right padding, other items of other
/// lengths, padding tiles) gives the same vectors for its own tokens.
@Suite struct BatchInvarianceTests {
    /// Far below the fidelity bound: only float rounding of differently shaped kernels may differ.
    let tolerance: Float = 1e-5

    @Test(arguments: ["queries_right_padded", "queries_left_padded"])
    func queriesInPaddedBatchesMatchQueriesAlone(_ name: String) throws {
        let model = try Fixtures.tinyModelLoaded()
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: name)
        let batched = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        for index in 0..<fixture.batchSize {
            let alone = try model.embedQueries([fixture.item(index).ids])
            let difference = maxAbsDifference(batched[index].rows, alone[0].rows)
            #expect(difference <= tolerance, "\(name)[\(index)]: \(difference)")
        }
    }

    @Test func tokenListsArePaddedWithoutChangingResults() throws {
        let model = try Fixtures.tinyModelLoaded()
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: "queries_right_padded")
        let sequences = try (0..<fixture.batchSize).map { try fixture.item($0).ids }
        #expect(Set(sequences.map(\.count)).count > 1, "the fixture must mix lengths")
        let together = try model.embedQueries(sequences)
        for (index, sequence) in sequences.enumerated() {
            #expect(together[index].tokenCount == sequence.count)
            let alone = try model.embedQueries([sequence])[0]
            #expect(maxAbsDifference(together[index].rows, alone.rows) <= tolerance)
        }
    }

    @Test(arguments: ["images_mixed_right_padded", "images_mixed_left_padded"])
    func imagesInPaddedBatchesMatchImagesAlone(_ name: String) throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let description = try #require(try Fixtures.cases.get().image_cases[name])
        let fixture = try FixtureCase(file: file, name: name)
        let pixels = try pixelValues(for: description.pixels, in: file)
        let batched = try model.embedImages(
            inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: pixels)
        for (index, picture) in description.pixels.enumerated() {
            let alone = try model.embedImages(
                inputIds: [try fixture.item(index).ids], tiles: [try file.tensor("pixels." + picture)])[0]
            let difference = maxAbsDifference(batched[index].rows, alone.rows)
            #expect(difference <= tolerance, "\(name)[\(index)]: \(difference)")
        }
    }

    @Test func visionTileBatchingDoesNotChangeResults() throws {
        let file = try Fixtures.file("images.safetensors")
        let fixture = try FixtureCase(file: file, name: "image_many_tiles")
        let tiles = try file.tensor("pixels.page.split")
        let ids = try fixture.item(0).ids
        var results: [[[Float]]] = []
        for tileBatch in [0, 1, 5] {
            let model = try ColModernVBertModel.load(
                directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .float32, visionTileBatch: tileBatch))
            results.append(try model.embedImages(inputIds: [ids], tiles: [tiles])[0].rows)
        }
        #expect(maxAbsDifference(results[0], results[1]) <= tolerance)
        #expect(maxAbsDifference(results[0], results[2]) <= tolerance)
    }
}
