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

    /// The vision tower's kernel follows the tier and the dtype (oneDNN's bfloat16 kernels need
    /// AVX-512, and are native only with AVX512_BF16), never the text kernel option.
    @Test func theVisionKernelFollowsTheTier() {
        let expected: [(DType, CPUISA, String)] = [
            (.float32, .avx2, "libtorch"), (.float32, .avx512, "oneDNN"), (.float32, .amxBF16, "oneDNN"),
            (.bfloat16, .avx512, "libtorch"), (.bfloat16, .avx512BF16, "oneDNN"), (.bfloat16, .amxBF16, "oneDNN"),
            (.float16, .amxBF16, "libtorch"), (.float64, .avx512, "libtorch"),
        ]
        for (dtype, isa, name) in expected {
            #expect(LinearPacking.vision(device: .cpu, dtype: dtype, isa: isa).name == name, "\(dtype) on \(isa)")
        }
        #expect(LinearPacking.vision(device: .cuda(0), dtype: .float32, isa: .amxBF16).name == "libtorch")
    }

    /// The tower's attention is the bridge's tile kernel only in bfloat16 on AVX512_BF16 without
    /// AMX (with AMX, libtorch's SDPA runs on the tiles and is faster), and only for head sizes it
    /// takes; on a CPU without AVX512_BF16 the bridge refuses it everywhere.
    @Test func theTileAttentionFollowsTheTier() {
        let available = Tensor.tileAttentionAvailable
        for isa in [CPUISA.baseline, .avx2, .avx512, .avx512BF16, .amxBF16] {
            for dtype in [DType.float32, .bfloat16] {
                let expected = available && dtype == .bfloat16 && isa == .avx512BF16
                #expect(
                    SiglipAttention.usesBridgeAttention(device: .cpu, dtype: dtype, isa: isa, headDim: 64) == expected,
                    "\(dtype) on \(isa)")
            }
        }
        #expect(!SiglipAttention.usesBridgeAttention(device: .cpu, dtype: .bfloat16, isa: .avx512BF16, headDim: 48))
        #expect(!SiglipAttention.usesBridgeAttention(device: .cuda(0), dtype: .bfloat16, isa: .avx512BF16, headDim: 64))
    }

    /// Images through the vision tower on oneDNN (this CPU's tier, where it has AVX-512) and on
    /// libtorch's linear (the tier capped at AVX2): the same embeddings to float rounding. On an
    /// AVX2 CPU both run libtorch's; the fidelity tests then cover only that path.
    @Test func theVisionKernelsGiveTheSameEmbeddings() throws {
        let native = try ColModernVBertModel.load(directory: Fixtures.tinyModel, options: ModelOptions(device: .cpu, dtype: .float32))
        let capped = try ColModernVBertModel.load(
            directory: Fixtures.tinyModel,
            options: ModelOptions(device: .cpu, dtype: .float32, cpu: CPUFeatures.detect().limited(to: .avx2)))
        let oneDNN = CPUFeatures.detect().hardwareISA >= .avx512
        #expect(native.visionLinearKernel == (oneDNN ? "oneDNN" : "libtorch"))
        #expect(capped.visionLinearKernel == "libtorch")
        let layer = try #require(native.vision.layers.first)
        for linear in [layer.fc1, layer.fc2, layer.attention.qkv, layer.attention.out, native.connector.projection] {
            if case .oneDNN(let weight)? = linear.packed {
                #expect(oneDNN)
                let address = weight.withUnsafeBytes { $0.baseAddress }
                #expect(address == linear.weight.withUnsafeBytes { $0.baseAddress }, "oneDNN reads the weight in place: no copy")
            } else {
                #expect(!oneDNN, "\(String(describing: linear.packed))")
            }
        }
        let file = try Fixtures.file("images.safetensors")
        for name in ["image_many_tiles", "images_mixed_left_padded"] {
            let description = try #require(try Fixtures.cases.get().image_cases[name])
            let fixture = try FixtureCase(file: file, name: name)
            let pixels = try pixelValues(for: description.pixels, in: file)
            let a = try native.embedImages(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: pixels)
            let b = try capped.embedImages(inputIds: fixture.inputIds, attentionMask: fixture.attentionMask, pixelValues: pixels)
            #expect(a.count == b.count)
            for (x, y) in zip(a, b) { #expect(maxAbsDifference(x.rows, y.rows) <= 1e-5, "\(name)") }
        }
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
