import Foundation
import Testing
import Torch

@testable import ColModernVBert

/// `embedImages(inputIds:tiles:isCancelled:)` asks before each item's vision tower and before
/// the text tower, and stops at the first yes.
@Suite struct ImageCancellationTests {
    final class Counter: @unchecked Sendable {
        var asked = 0
    }

    @Test func stopsBetweenItemsWhenTheClosureSaysSo() throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let description = try #require(try Fixtures.cases.get().image_cases["images_mixed_right_padded"])
        let fixture = try FixtureCase(file: file, name: "images_mixed_right_padded")
        let ids = try description.pixels.indices.map { try fixture.item($0).ids }
        let tiles = try description.pixels.map { try file.tensor("pixels." + $0) }
        try #require(tiles.count >= 2)

        // Never cancelled: asked once per item and once before the text tower; same output.
        let counter = Counter()
        let full = try model.embedImages(inputIds: ids, tiles: tiles) {
            counter.asked += 1
            return false
        }
        #expect(counter.asked == tiles.count + 1)
        let plain = try model.embedImages(inputIds: ids, tiles: tiles)
        #expect(full.map(\.values) == plain.map(\.values))

        // Cancelled after the first item's vision tower: the second is never started.
        let stopping = Counter()
        #expect(throws: CancellationError.self) {
            try model.embedImages(inputIds: ids, tiles: tiles) {
                stopping.asked += 1
                return stopping.asked >= 2
            }
        }
        #expect(stopping.asked == 2)
    }
}
