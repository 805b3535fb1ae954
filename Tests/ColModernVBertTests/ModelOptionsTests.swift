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

    @Test func thePanelKernelIsTheCPUDefault() throws {
        #expect(ModelOptions().cpuLinearKernel == .panels)
        let model = try Fixtures.tinyModelLoaded()
        #expect(
            model.text.layers.allSatisfy {
                if case .panels = $0.attention.wqkv.packed, case .panels = $0.mlp.wo.packed { true } else { false }
            })
    }

    @Test(arguments: CPULinearKernel.allCases)
    func everyLinearKernelGivesTheSameEmbeddings(kernel: CPULinearKernel) throws {
        let model = try ColModernVBertModel.load(
            directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .float32, cpuLinearKernel: kernel))
        let wqkv = try #require(model.text.layers.first).attention.wqkv
        switch (kernel, wqkv.packed) {
        case (.libtorch, nil), (.panels, .panels?), (.oneDNN, .oneDNN?): break
        default: Issue.record("\(kernel) loaded text linears packed as \(String(describing: wqkv.packed))")
        }
        let plain = try ColModernVBertModel.load(
            directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .float32, cpuLinearKernel: .libtorch))
        try expectSameQueryEmbeddings(model, plain)
    }

    /// Queries through the bridge's one-pass attention and through libtorch's operators: the same
    /// embeddings, padded batches included (FidelityTests hold both queries and the tiny model's
    /// short image prompts, which take the same pass, to the Python reference).
    @Test func theShortAttentionGivesTheSameEmbeddings() throws {
        var libtorchOptions = ModelOptions(device: .cpu, dtype: .float32)
        libtorchOptions.shortAttention = false
        let fused = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .float32))
        let plain = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: libtorchOptions)
        #expect(fused.text.layers.allSatisfy { $0.attention.shortAttention })
        #expect(plain.text.layers.allSatisfy { !$0.attention.shortAttention })
        try expectSameQueryEmbeddings(fused, plain)
    }

    /// Both models embed the fixture queries (one alone, a left-padded batch) alike, to 1e-5.
    func expectSameQueryEmbeddings(
        _ model: ColModernVBertModel, _ other: ColModernVBertModel, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for name in ["queries_left_padded", "query_1"] {
            let fixture = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: name)
            let a = try model.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
            let b = try other.embedQueries(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask)
            #expect(a.count == b.count, sourceLocation: sourceLocation)
            for (x, y) in zip(a, b) {
                #expect(maxAbsDifference(x.rows, y.rows) <= 1e-5, "\(name)", sourceLocation: sourceLocation)
            }
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
