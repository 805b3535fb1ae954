import Foundation
import Imaging
import Processing
import Testing
import Tokenizers

/// Ids must equal those of the reference ColModernVBertProcessor, for the tiny test geometry
/// (4 tokens per tile) and the published one (64 tokens per tile).
@Suite struct ReferenceTests {
    static let geometries = [("tiny", 4), ("published", 64)]

    @Test(arguments: geometries)
    func readsTheGeometry(geometry: String, imageSeqLen: Int) throws {
        let processor = try Fixtures.processor(geometry: geometry)
        #expect(processor.configuration.imageSeqLen == imageSeqLen)
        #expect(processor.configuration.visualPromptPrefix == ProcessorConfiguration.defaultVisualPromptPrefix)
        #expect(processor.configuration.queryPrefix == "")
        #expect(processor.imageTokenID == processor.tokenizer.tokenID("<image>"))
    }

    @Test(arguments: geometries.map(\.0))
    func queryBatchesMatchTheReference(geometry: String) throws {
        let processor = try Fixtures.processor(geometry: geometry)
        let expected = try Fixtures.expected(geometry: geometry)
        #expect(expected.queries.count >= 3)
        for batch in expected.queries {
            let padded = try processor.queries(batch.texts)
            #expect(padded.inputIDs == batch.input_ids, "\(batch.texts)")
            #expect(padded.attentionMask == batch.attention_mask, "\(batch.texts)")
            #expect(padded.lengths == batch.attention_mask.map { $0.reduce(0, +) })
            for (row, text) in batch.texts.enumerated() {
                #expect(Array(padded.ids(row: row)) == (try processor.queryIDs(text)))
            }
        }
    }

    @Test(arguments: geometries.map(\.0))
    func imagePromptsMatchTheReference(geometry: String) throws {
        let processor = try Fixtures.processor(geometry: geometry)
        let expected = try Fixtures.expected(geometry: geometry)
        #expect(expected.images.contains { !$0.splitting } && expected.images.contains { $0.splitting })
        for image in expected.images {
            let grid = Fixtures.layout(rows: image.rows, cols: image.cols)
            let prompt = try processor.imagePrompt(grid)
            let label = "\(image.width)x\(image.height) grid \(grid)"
            #expect(prompt.inputIDs == image.input_ids, "\(label)")
            let positions = image.input_ids.indices.filter { image.input_ids[$0] == processor.imageTokenID }
            #expect(prompt.imageTokenPositions == positions, "\(label)")
            #expect(prompt.imagePatchCount == grid.tileCount * processor.configuration.imageSeqLen, "\(label)")
            #expect(prompt.imagePatchStart == positions.first, "\(label)")
            #expect(prompt.positionsByView.count == grid.tileCount, "\(label)")
        }
    }

    @Test(arguments: geometries.map(\.0))
    func arbitraryGridsMatchTheReferenceExpansion(geometry: String) throws {
        let processor = try Fixtures.processor(geometry: geometry)
        let expected = try Fixtures.expected(geometry: geometry)
        #expect(expected.grids.contains { $0.rows == 6 && $0.cols == 6 })
        for entry in expected.grids {
            let prompt = try processor.imagePrompt(Fixtures.layout(rows: entry.rows, cols: entry.cols))
            #expect(prompt.inputIDs == entry.input_ids, "grid \(entry.rows)x\(entry.cols)")
        }
    }

    @Test(arguments: geometries.map(\.0))
    func imageBatchesArePaddedLikeTheReference(geometry: String) throws {
        let processor = try Fixtures.processor(geometry: geometry)
        let expected = try Fixtures.expected(geometry: geometry)
        // The grids of those sizes, as the reference image processor reported them.
        let grids = try expected.image_batch.sizes.map { size in
            let image = try #require(expected.images.first { $0.splitting && $0.width == size[0] && $0.height == size[1] })
            return Fixtures.layout(rows: image.rows, cols: image.cols)
        }
        // Padded the way the model pads a batch of prompts (the tokenizer's padding side and id).
        let prompts = try grids.map(processor.imagePrompt)
        let tokenizer = processor.tokenizer
        let batch = try PaddedBatch(
            sequences: prompts.map(\.inputIDs), padID: tokenizer.padTokenID, side: tokenizer.config.paddingSide)
        #expect(batch.inputIDs == expected.image_batch.input_ids)
        #expect(batch.attentionMask == expected.image_batch.attention_mask)
        for row in grids.indices {
            let leading = batch.side == .left ? batch.width - prompts[row].inputIDs.count : 0
            let positions = prompts[row].imageTokenPositions.map { $0 + leading }
            #expect(positions.allSatisfy { batch.inputIDs[row][$0] == processor.imageTokenID })
            #expect(positions.count == batch.inputIDs[row].filter { $0 == processor.imageTokenID }.count)
        }
    }
}
