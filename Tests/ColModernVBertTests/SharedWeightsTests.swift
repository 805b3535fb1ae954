import Foundation
import ProcessTestSupport
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// One copy of the packed text weights per machine (issue 14): the first model packs them into a
/// shared file, the next maps that file, and both give the reference's embeddings.
@Suite struct SharedWeightsTests {
    private func options(_ directory: URL?) -> ModelOptions {
        ModelOptions(device: .cpu, dtype: .float32, cpuLinearKernel: .panels, sharedWeightsDirectory: directory)
    }

    @Test func theSecondModelMapsWhatTheFirstPacked() throws {
        guard Tensor.panelLinearAvailable else { return }  // no panels to share on this CPU
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shared-weights-\(UUID().uuidString)")
        let first = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: options(directory))
        let written = try #require(first.sharedWeights)
        #expect(written.contains("written to") && !written.contains("private"), "\(written)")
        let second = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: options(directory))
        let mapped = try #require(second.sharedWeights)
        #expect(mapped.contains("mapped from") && !mapped.contains("private"), "\(mapped)")

        // Every packed text weight of both models lies in the one file.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".safetensors") }
        #expect(files.count == 1, "\(files)")
        let file = try SafeTensorsFile(path: directory.appendingPathComponent(files[0]).path)
        #expect(file.names.filter { $0.hasSuffix(".panels") }.count == 4 * first.text.layers.count)
        // The other per-process copies made at load: SigLIP's fused q/k/v and the joined token table.
        #expect(file.names.filter { $0.hasSuffix(".qkv.weight") }.count == first.vision.layers.count)
        #expect(file.names.filter { $0.hasSuffix(".qkv.bias") }.count == first.vision.layers.count)
        #expect(file.names.contains { $0.hasSuffix("+additional") })
        for layer in first.text.layers + second.text.layers {
            guard case .panels(let panels, _) = layer.mlp.wi.packed else {
                Issue.record("Wi not on the panel kernel")
                continue
            }
            let address = try #require(panels.withUnsafeBytes { $0.baseAddress } ?? nil)
            #expect(mapsLine(containing: address)?.hasSuffix(files[0]) == true)
        }
        for layer in first.vision.layers + second.vision.layers {
            let address = try #require(layer.attention.qkv.weight.withUnsafeBytes { $0.baseAddress } ?? nil)
            #expect(mapsLine(containing: address)?.hasSuffix(files[0]) == true)
        }
        let table = try #require(second.text.embeddings.table.withUnsafeBytes { $0.baseAddress } ?? nil)
        #expect(mapsLine(containing: table)?.hasSuffix(files[0]) == true)

        let reference = try Fixtures.tinyModelLoaded()
        for name in ["queries_left_padded", "query_1"] {
            let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: name)
            let expected = try reference.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
            for model in [first, second] {
                let output = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
                for (x, y) in zip(output, expected) { #expect(maxAbsDifference(x.rows, y.rows) == 0, "\(name)") }
            }
            let item = try fixture.item(0)
            let output = try second.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
            #expect(maxAbsDifference(output[0].rows, item.reference) <= fidelityTolerance)
        }
    }

    /// The mixed mode's bfloat16 vision weights are converted once per machine too: the second
    /// model maps the first one's conversions, and both embed images as a private mixed model does.
    @Test func theMixedModesVisionWeightsAreSharedToo() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shared-weights-\(UUID().uuidString)")
        let mixed = ModelOptions(
            device: .cpu, dtype: .float32, cpuLinearKernel: .panels, sharedWeightsDirectory: directory, visionDType: .bfloat16)
        let first = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: mixed)
        let second = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: mixed)
        #expect(try #require(second.sharedWeights).contains("mapped from"))
        var privateOptions = mixed
        privateOptions.sharedWeightsDirectory = nil
        let privateModel = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: privateOptions)

        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".safetensors") }
        #expect(files.count == 1, "\(files)")
        let file = try SafeTensorsFile(path: directory.appendingPathComponent(files[0]).path)
        #expect(file.names.filter { $0.hasSuffix(".mlp.fc1.weight.bfloat16") }.count == first.vision.layers.count)
        #expect(file.names.contains("connector.modality_projection.weight.bfloat16"))
        #expect(file.metadata["identity"]?.contains("vision bfloat16") == true)
        for model in [first, second] {
            for layer in model.vision.layers {
                for weight in [layer.fc1.weight, layer.attention.qkv.weight, layer.attention.out.weight] {
                    #expect(weight.dtype == .bfloat16)
                    let address = try #require(weight.withUnsafeBytes { $0.baseAddress } ?? nil)
                    #expect(mapsLine(containing: address)?.hasSuffix(files[0]) == true)
                }
            }
        }
        let images = try Fixtures.file("images.safetensors")
        let description = try #require(try Fixtures.cases.get().image_cases["image_many_tiles"])
        let fixture = try FixtureCase(file: images, name: "image_many_tiles")
        let pixels = try pixelValues(for: description.pixels, in: images)
        let expected = try privateModel.embedImages(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: pixels)
        for model in [first, second] {
            let output = try model.embedImages(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: pixels)
            for (x, y) in zip(output, expected) { #expect(maxAbsDifference(x.rows, y.rows) == 0) }
        }
    }

    @Test func withoutADirectoryEachModelPacksPrivately() throws {
        let model = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: options(nil))
        #expect(model.sharedWeights == nil)
    }

    @Test func inMemoryWeightsAreNeverShared() throws {
        // Nothing identifies weights held in memory, so no file could be invalidated for them.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shared-weights-\(UUID().uuidString)")
        func shared(_ weights: WeightSource, device: Device = .cpu, dtype: DType = .float32) -> SharedTensorFile? {
            SharedTensorFile.forDerivedWeights(directory: directory, weights: weights, device: device, dtype: dtype, kernel: .panels)
        }
        #expect(shared(InMemoryWeights([:])) == nil)
        let checkpoint = try SafeTensorsCheckpoint(directory: Fixtures.tinyModel)
        #expect(shared(checkpoint, device: .cuda(0)) == nil, "GPU weights are not in host memory")
        let file = try #require(shared(checkpoint))
        #expect(file.identity.contains("model.safetensors"))
        #expect(file.identity.contains("panels v\(Tensor.panelLayoutVersion)"))
        file.finish()
        let bfloat16 = try #require(shared(checkpoint, dtype: .bfloat16))
        #expect(bfloat16.path != file.path, "another dtype derives other tensors")
        bfloat16.finish()
    }
}
