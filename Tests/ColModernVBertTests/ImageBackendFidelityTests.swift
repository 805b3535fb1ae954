import Foundation
import Imaging
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// The whole image path — decode, Idefics3 processing, the tiny model — against transformers'
/// ColModernVBertProcessor + ColModernVBertForRetrieval with each image backend
/// (Tests/Fixtures/model/backends.*, made by scripts/fixtures/make_backend_model_fixtures.py).
/// Bounds from the issue: per-token cosine ≥ 0.9999 for every token and ≥ 0.99999 on average.
@Suite struct ImageBackendFidelityTests {
    struct Description: Decodable {
        struct Case: Decodable {
            let file: String
            let tokens: Int
            let backends_cosine_min: Double
            let backends_cosine_mean: Double
        }
        let cases: [String: Case]
    }

    static let minimumCosine = 0.9999
    static let meanCosine = 0.99999
    static let sources = Fixtures.root.appendingPathComponent("Tests/Fixtures/images/sources")
    static let description: Result<Description, Error> = Result {
        try JSONDecoder().decode(
            Description.self, from: Data(contentsOf: Fixtures.outputs.appendingPathComponent("backends.json")))
    }
    static var caseNames: [String] { ((try? description.get())?.cases.keys.sorted()) ?? [] }

    @Test(arguments: caseNames)
    func torchvisionBackendMatchesItsReference(_ name: String) throws {
        let (minimum, mean) = try cosines(name, backend: .torchvision, reference: .torchvision)
        print("\(name), torchvision pipeline vs its reference: per-token cosine min \(minimum), mean \(mean)")
        #expect(minimum >= Self.minimumCosine && mean >= Self.meanCosine, "\(name): min \(minimum), mean \(mean)")
    }

    @Test(arguments: caseNames)
    func pilBackendMatchesItsReference(_ name: String) throws {
        let (minimum, mean) = try cosines(name, backend: .pil, reference: .pil)
        #expect(minimum >= Self.minimumCosine && mean >= Self.meanCosine, "\(name): min \(minimum), mean \(mean)")
    }

    /// The references of the two backends are far enough apart on tall narrow images that the
    /// PIL pipeline fails the bounds against the torchvision reference (so the test above can fail).
    @Test func pilPipelineMissesTheTorchvisionReferenceOnTallNarrowImages() throws {
        let cases = try Self.description.get().cases
        let tall = try #require(cases["tall_narrow"])
        #expect(tall.backends_cosine_mean < Self.meanCosine)
        let (minimum, mean) = try cosines("tall_narrow", backend: .pil, reference: .torchvision)
        print("tall_narrow, PIL pipeline vs torchvision reference: per-token cosine min \(minimum), mean \(mean)")
        #expect(minimum < Self.minimumCosine || mean < Self.meanCosine)
    }

    /// Per-token cosine (min, mean) between this pipeline with `backend` and the reference
    /// made with `reference`.
    private func cosines(_ name: String, backend: ImageBackend, reference: ImageBackend) throws -> (Double, Double) {
        let item = try #require(try Self.description.get().cases[name])
        let file = try Fixtures.file("backends.safetensors")
        let ids = try file.tensor("\(name).input_ids").int64s().map(Int.init)
        let expected = try file.tensor("\(name).\(reference.rawValue).embeddings")
        let dim = expected.size(1)
        let values = try expected.floats()
        #expect(ids.count == item.tokens && expected.size(0) == item.tokens)

        let config = try Idefics3ProcessorConfig.load(directory: Fixtures.tinyModel)
        let processor = try #require(Idefics3ImageProcessor(config: config, backend: backend))
        let bytes = [UInt8](try Data(contentsOf: Self.sources.appendingPathComponent(item.file)))
        let processed = processor.process(try ImageDecoder().decodeRGB(bytes))
        let tiles = try Tensor(floats: processed.pixelValues, shape: processed.shape)
        let output = try Fixtures.tinyModelLoaded().embedImages(inputIds: [ids], tiles: [tiles])
        let rows = try #require(output.first).rows
        try #require(rows.count == item.tokens)

        var minimum = Double.infinity
        var total = 0.0
        for (token, row) in rows.enumerated() {
            let target = values[(token * dim)..<((token + 1) * dim)]
            var dot = 0.0
            var left = 0.0
            var right = 0.0
            for (x, y) in zip(row, target) {
                dot += Double(x) * Double(y)
                left += Double(x) * Double(x)
                right += Double(y) * Double(y)
            }
            let cosine = dot / (left.squareRoot() * right.squareRoot())
            minimum = min(minimum, cosine)
            total += cosine
        }
        return (minimum, total / Double(rows.count))
    }
}
