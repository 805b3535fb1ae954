import Foundation
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// The Swift forward pass against transformers' ColModernVBertForRetrieval on the same tiny
/// checkpoint and inputs (Tests/Fixtures/model, made by scripts/fixtures/make_model_fixtures.py):
/// every token vector within 1e-4 in float32.
@Suite struct FidelityTests {
    static let queryCases = ["query_0", "query_1", "query_2", "queries_right_padded", "queries_left_padded"]
    static let imageCases = [
        "image_one_tile", "image_many_tiles", "image_wide", "images_mixed_right_padded", "images_mixed_left_padded",
    ]

    @Test(arguments: queryCases)
    func queryEmbeddingsMatchReference(_ name: String) throws {
        let model = try Fixtures.tinyModelLoaded()
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: name)
        let output = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        #expect(output.count == fixture.batchSize)
        for (index, embedding) in output.enumerated() {
            let reference = try fixture.item(index).reference
            #expect(embedding.dim == 16)
            #expect(embedding.tokenCount == reference.count)
            let difference = maxAbsDifference(embedding.rows, reference)
            #expect(difference <= fidelityTolerance, "\(name)[\(index)]: max abs difference \(difference)")
        }
    }

    @Test(arguments: queryCases)
    func rawForwardMatchesReferenceIncludingPadding(_ name: String) throws {
        let model = try Fixtures.tinyModelLoaded()
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: name)
        let output = try model.forward(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        let difference = try maxAbsDifference(output, fixture.embeddings)
        #expect(difference <= fidelityTolerance, "\(name): max abs difference \(difference)")
    }

    @Test(arguments: imageCases)
    func imageEmbeddingsMatchReference(_ name: String) throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let description = try #require(try Fixtures.cases.get().image_cases[name])
        let fixture = try FixtureCase(file: file, name: name)
        let pixels = try pixelValues(for: description.pixels, in: file)
        #expect(pixels.size(0) == fixture.batchSize)

        let output = try model.embedImages(
            inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: pixels)
        #expect(output.count == fixture.batchSize)
        for (index, embedding) in output.enumerated() {
            let reference = try fixture.item(index).reference
            let difference = maxAbsDifference(embedding.rows, reference)
            #expect(embedding.tokenCount == reference.count)
            #expect(difference <= fidelityTolerance, "\(name)[\(index)]: max abs difference \(difference)")
        }
        let raw = try model.forward(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: pixels)
        let rawDifference = try maxAbsDifference(raw, fixture.embeddings)
        #expect(rawDifference <= fidelityTolerance, "\(name) raw: max abs difference \(rawDifference)")
    }

    @Test(arguments: imageCases)
    func unpaddedImagePromptsMatchReference(_ name: String) throws {
        let model = try Fixtures.tinyModelLoaded()
        let file = try Fixtures.file("images.safetensors")
        let description = try #require(try Fixtures.cases.get().image_cases[name])
        let fixture = try FixtureCase(file: file, name: name)
        let ids = try description.pixels.indices.map { try fixture.item($0).ids }
        let tiles = try description.pixels.map { try file.tensor("pixels." + $0) }
        let output = try model.embedImages(inputIds: ids, tiles: tiles)
        for (index, embedding) in output.enumerated() {
            let difference = maxAbsDifference(embedding.rows, try fixture.item(index).reference)
            #expect(difference <= fidelityTolerance, "\(name)[\(index)]: max abs difference \(difference)")
        }
    }
}

/// Each architecture part against the reference's intermediate tensors (parts.safetensors), so a
/// fidelity failure points at the part that drifted.
@Suite struct PartFidelityTests {
    let model: ColModernVBertModel
    let parts: SafeTensorsFile
    let tiles: Tensor

    init() throws {
        model = try Fixtures.tinyModelLoaded()
        parts = try Fixtures.file("parts.safetensors")
        tiles = try Fixtures.file("images.safetensors").tensor("pixels.page.split")
    }

    @Test func textEmbeddingLayer() throws {
        let ids = try parts.tensor("query.input_ids")
        let output = try model.text.embeddings.norm(model.text.embeddings.lookup(ids))
        let difference = try maxAbsDifference(output, parts.tensor("query.embeddings_out"))
        #expect(difference <= 1e-5, "max abs difference \(difference)")
    }

    @Test func textTower() throws {
        let ids = try parts.tensor("query.input_ids")
        let output = try model.text(model.text.embeddings.lookup(ids), valid: nil)
        let difference = try maxAbsDifference(output, parts.tensor("query.last_hidden_state"))
        #expect(difference <= fidelityTolerance, "max abs difference \(difference)")
    }

    @Test func visionPatchEmbeddings() throws {
        let embeddings = try model.vision.embeddings(tiles)
        let difference = try maxAbsDifference(embeddings, parts.tensor("image.vision_embeddings"))
        #expect(difference <= 1e-5, "max abs difference \(difference)")
        // The residual stream starts contiguous: in the convolution's transposed layout every
        // layer norm of the tower would copy its input first.
        #expect(embeddings.isContiguous)
    }

    @Test func visionTower() throws {
        let difference = try maxAbsDifference(model.vision(tiles), parts.tensor("image.vision_last_hidden_state"))
        #expect(difference <= fidelityTolerance, "max abs difference \(difference)")
    }

    @Test func connector() throws {
        let reference = try parts.tensor("image.vision_last_hidden_state")
        let difference = try maxAbsDifference(model.connector(reference), parts.tensor("image.connector"))
        #expect(difference <= 1e-5, "max abs difference \(difference)")
    }
}
