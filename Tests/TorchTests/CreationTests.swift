import Testing

@testable import Torch

/// An owner whose release is observable, to check zero-copy lifetimes.
private final class Buffer {
    let pointer: UnsafeMutablePointer<Float>
    let onRelease: () -> Void
    init(_ values: [Float], onRelease: @escaping () -> Void) {
        pointer = .allocate(capacity: values.count)
        pointer.initialize(from: values, count: values.count)
        self.onRelease = onRelease
    }
    deinit {
        pointer.deallocate()
        onRelease()
    }
}

private final class Flag: @unchecked Sendable { var value = false }

@Suite struct CreationTests {
    @Test func copiesArraysAndReadsThemBack() throws {
        let t = try tensor([1, 2, 3, 4, 5, 6], [2, 3])
        #expect(t.shape == [2, 3])
        #expect(t.rank == 2)
        #expect(t.numel == 6)
        #expect(t.dtype == .float32)
        #expect(t.device == .cpu)
        #expect(try t.floats() == [1, 2, 3, 4, 5, 6])
        #expect(try Tensor(int64s: [7, -8], shape: [2]).int64s() == [7, -8])
        #expect(try Tensor(int32s: [3], shape: [1]).int32s() == [3])
        #expect(try Tensor(bools: [true, false, true], shape: [3]).bools() == [true, false, true])
        #expect(try Tensor(doubles: [0.1], shape: [1]).doubles() == [0.1])
    }

    @Test func rejectsBufferThatDoesNotMatchShape() {
        #expect(throws: TorchError.self) { try Tensor(floats: [1, 2, 3], shape: [2, 2]) }
    }

    @Test func fromBlobSharesMemoryAndReleasesOwnerWithLastTensor() throws {
        let released = Flag()
        var view: Tensor?
        var reshaped: Tensor?
        do {
            let buffer = Buffer([1, 2, 3, 4]) { released.value = true }
            let t = try Tensor.fromBlob(buffer.pointer, shape: [2, 2], dtype: .float32, owner: buffer)
            let shared = t.withUnsafeBytes { $0.baseAddress }
            #expect(shared == UnsafeRawPointer(buffer.pointer))
            view = try t.transpose(0, 1)
            reshaped = try t.reshape([4])
        }
        #expect(released.value == false)
        #expect(try view?.floats() == [1, 3, 2, 4])
        view = nil
        #expect(released.value == false)
        #expect(try reshaped?.floats() == [1, 2, 3, 4])
        reshaped = nil
        #expect(released.value == true)
    }

    @Test func fromBlobWithStrides() throws {
        let buffer = Buffer([1, 2, 3, 4, 5, 6]) {}
        let t = try Tensor.fromBlob(buffer.pointer, shape: [3, 2], strides: [1, 3], dtype: .float32, owner: buffer)
        #expect(try t.floats() == [1, 4, 2, 5, 3, 6])
        #expect(t.isContiguous == false)
        #expect(try t.contiguous().isContiguous)
    }

    @Test func factories() throws {
        #expect(try Tensor.zeros([2, 2]).floats() == [0, 0, 0, 0])
        #expect(try Tensor.ones([3], dtype: .int64).int64s() == [1, 1, 1])
        #expect(try Tensor.full([2], value: 2.5).floats() == [2.5, 2.5])
        #expect(try Tensor.scalar(4).item() == 4)
        #expect(try Tensor.arange(0, 5).int64s() == [0, 1, 2, 3, 4])
        #expect(try Tensor.arange(1, 2, step: 0.25, dtype: .float32).floats() == [1, 1.25, 1.5, 1.75])
        #expect(try Tensor.empty([3, 4]).shape == [3, 4])
        let uniform = try Tensor.rand([1000]).floats()
        #expect(uniform.allSatisfy { $0 >= 0 && $0 < 1 })
        let normal = try Tensor.randn([10000]).floats()
        let mean = normal.reduce(0, +) / Float(normal.count)
        #expect(Swift.abs(mean) < 0.05)
        // libtorch's CPU generator is one per process: the suite's every draw is in this test, so a
        // test running alongside cannot take numbers between the seed and the draw (CI saw that
        // when the seed check lived in another test of this suite).
        Torch.manualSeed(7)
        let seeded = try Tensor.rand([4]).floats()
        Torch.manualSeed(7)
        #expect(try Tensor.rand([4]).floats() == seeded)
    }

    @Test func dtypeConversionsRoundAsExpected() throws {
        let t = try tensor([1, 1.0 / 3, -2.75, 65504], [4])
        // bfloat16 keeps 8 significant bits: 1/3 becomes 0.333984375.
        expectClose(try t.to(.bfloat16).floats(), [1, 0.333984375, -2.75, 65536], tolerance: 0)
        // float16 keeps 11: 1/3 becomes 0.333251953125; 65504 is its largest finite value.
        expectClose(try t.to(.float16).floats(), [1, 0.333251953125, -2.75, 65504], tolerance: 0)
        #expect(try t.to(.int64).int64s() == [1, 0, -2, 65504])
        #expect(try t.to(.bfloat16).dtype == .bfloat16)
        #expect(try tensor([0, 2, -1], [3]).to(.bool).bools() == [false, true, true])
    }

    @Test func deviceParsingAndNames() {
        #expect(Device(parsing: "cpu") == .cpu)
        #expect(Device(parsing: "cuda") == .cuda(0))
        #expect(Device(parsing: "cuda:1") == .cuda(1))
        #expect(Device(parsing: "tpu") == nil)
        #expect(Device.cuda(0).description == "cuda:0")
        #expect(DType.bfloat16.torchName == "torch.bfloat16")
        #expect(DType.float16.elementSize == 2)
        #expect(DType.int64.elementSize == 8)
    }

    @Test func runtimeSettings() throws {
        let before = Torch.numThreads
        Torch.setNumThreads(1)
        #expect(Torch.numThreads == 1)
        Torch.setNumThreads(before)
        #expect(Torch.numThreads == before)
        #expect(Torch.cudaAvailable == (Torch.cudaDeviceCount > 0))
        #expect(Torch.version.hasPrefix("2."))
        try Torch.synchronize(.cpu)
    }

    @Test func cudaIsReportedAsAThrownErrorWhenAbsent() throws {
        guard !Torch.cudaAvailable else { return }
        #expect(throws: TorchError.self) { try Tensor.zeros([1], device: .cuda(0)) }
    }
}

@Suite struct ReclaimTests {
    @Test func reclaimAdvisesWholePagesAndKeepsContents() throws {
        let count = 1 << 20  // 4 MiB of float32: spans many whole pages
        let t = try Tensor.arange(0, Double(count), dtype: .float32)
        let before = try t.sum().item()
        #expect(t.adviseReclaim() > 0)
        #expect(try t.sum().item() == before)
        #expect(try t.narrow(dim: 0, start: count - 3, length: 3).floats() == [Float(count - 3), Float(count - 2), Float(count - 1)])
        // A tensor smaller than a page has no whole page to advise.
        #expect(try Tensor.ones([4]).adviseReclaim() == 0)
    }
}
