import Foundation
import Testing
import Torch

@testable import ColModernVBert

/// Performance options change how the work is done, never the result.
@Suite struct ModelOptionsTests {
    @Test func defaultsFollowTheDevice() {
        #expect(ModelOptions(device: .cpu).resolvedDType == .float32)
        #expect(ModelOptions(device: .cuda(0)).resolvedDType == .bfloat16)
        #expect(ModelOptions(device: .cuda(0), dtype: .float16).resolvedDType == .float16)
        #expect(ModelOptions().resolvedDevice == Torch.defaultDevice)
    }

    @Test func oneDNNTextLinearsMatchTheBLASPath() throws {
        let packed = try Fixtures.tinyModelLoaded()
        #expect(Tensor.oneDNNAvailable)
        #expect(packed.text.layers.allSatisfy { $0.attention.wqkv.packed != nil && $0.mlp.wo.packed != nil })
        let plain = try ColModernVBertModel.load(
            directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .float32, oneDNNTextLinears: false))
        #expect(plain.text.layers.allSatisfy { $0.attention.wqkv.packed == nil })
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: "queries_left_padded")
        let a = try packed.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        let b = try plain.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        for (x, y) in zip(a, b) {
            #expect(maxAbsDifference(x.rows, y.rows) <= 1e-5)
        }
    }

    @Test func float64ComputeAlsoMatchesTheReference() throws {
        // A dtype other than the checkpoint's exercises the conversion path of every weight.
        let model = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .float64))
        #expect(model.dtype == .float64)
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: "query_1")
        let output = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        #expect(maxAbsDifference(output[0].rows, try fixture.item(0).reference) <= fidelityTolerance)
    }

    @Test func bfloat16StaysCloseToTheReference() throws {
        // The GPU default dtype, run on the CPU: a loose bound, but wrong plumbing would be far off.
        let model = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .bfloat16))
        let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: "query_1")
        let output = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
        let difference = maxAbsDifference(output[0].rows, try fixture.item(0).reference)
        #expect(difference < 0.1, "bfloat16 max abs difference \(difference)")
    }
}
