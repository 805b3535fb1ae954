import Foundation
import Testing

@testable import Torch

/// The bridge's panel kernel against products computed here in double precision.
@Suite struct PanelLinearTests {
    /// residual + x·Wᵀ + b, row-major, computed in Double.
    static func expected(
        x: [Float], rows: Int, inFeatures: Int, weight: [Float], outFeatures: Int, bias: [Float]?, residual: [Float]?
    ) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var sum = Double(bias?[o] ?? 0) + Double(residual?[r * outFeatures + o] ?? 0)
                for k in 0..<inFeatures { sum += Double(x[r * inFeatures + k]) * Double(weight[o * inFeatures + k]) }
                y[r * outFeatures + o] = Float(sum)
            }
        }
        return y
    }

    @Test func theKernelRunsOnThisMachine() {
        // Every x86-64 CPU this service targets has AVX2 and FMA; if not, the model falls back to
        // libtorch's linear, but then the tests below would not exercise the kernel.
        #expect(Tensor.panelLinearAvailable)
    }

    /// The tiles this CPU runs: AVX2, and the AVX-512 tile's code built for AVX2 (its 12-row
    /// blocking, prefetch phases and epilogue), always; the AVX-512 tile itself where the CPU has
    /// AVX-512. Elsewhere `anUnsupportedTileIsAnError` checks that asking for it fails instead of
    /// running it or silently running AVX2.
    static let tiles: [PanelTile] = PanelTile.allCases.filter { Tensor.panelLinearSupports(tile: $0) }

    @Test func theAVX512TilesCodeRunsWhereverAVX2Does() {
        #expect(Tensor.panelLinearSupports(tile: .avx512OnAVX2) == Tensor.panelLinearSupports(tile: .avx2))
        #expect(Tensor.panelLinearSupports(tile: .avx512) == Tensor.panelLinearSupports(.avx512))
        // The model never picks it: a tier maps to the AVX2 or the AVX-512 tile.
        #expect(Set(CPUISA.allCases.map(PanelTile.init)) == [.avx2, .avx512])
    }

    @Test func tileSelectionFollowsTheTier() {
        #expect(Tensor.panelTile(for: .avx2) == .avx2)
        #expect(Tensor.panelTile(for: .baseline) == .avx2)
        for tier in [CPUISA.avx512, .avx512BF16, .amxBF16] { #expect(Tensor.panelTile(for: tier) == .avx512) }
        #expect(Tensor.panelLinearSupports(.avx512) == (CPUFeatures.detect().hardwareISA >= .avx512))
    }

    @Test func anUnsupportedTileIsAnError() throws {
        guard !Tensor.panelLinearSupports(.avx512) else { return }  // this CPU runs it: the tests below do
        let packed = try Tensor.ones([32, 8]).panelPackedLinearWeight()
        #expect(throws: TorchError.self) { try Tensor.ones([2, 8]).panelLinear(packedWeight: packed, outFeatures: 32, isa: .avx512) }
    }

    @Test(
        arguments: tiles,
        [
            // rows: full AVX2 tiles of 5 and AVX-512 tiles of 12, each remainder, and more than one
            // tile (the next panel's prefetch spread over the blocks); out: whole panels, a partial
            // last panel, fewer columns than one panel; in: odd sizes; 41 rows of 5000 inputs: rows
            // in chunks of 256 KB (10 or 12 rows) with a remainder; from 12 rows AVX-512 takes two
            // panels at once: 56 outputs (4 panels, split 2 + 2 over two threads) end in a pair whose
            // second panel is partial; 200 outputs (13 panels, 7 + 6) run pairs that prefetch the
            // next pair, and the last of them a single panel.
            (41, 40, 5000), (14, 56, 33), (1, 16, 8), (2, 40, 7), (3, 5, 33), (4, 48, 64), (5, 32, 1), (6, 17, 12), (7, 100, 31),
            (8, 24, 19),
            (9, 32, 9), (12, 16, 5), (13, 48, 70), (20, 64, 96), (23, 200, 50), (30, 80, 40), (64, 33, 129),
        ])
    func matchesADoublePrecisionProduct(tile: PanelTile, shape: (Int, Int, Int)) throws {
        let (rows, outFeatures, inFeatures) = shape
        var random = Lcg(state: UInt64(rows * 1_000_003 + outFeatures * 1009 + inFeatures))
        let x = random.values(rows * inFeatures)
        let w = random.values(outFeatures * inFeatures)
        let b = random.values(outFeatures)
        let add = random.values(rows * outFeatures)
        let packed = try tensor(w, [outFeatures, inFeatures]).panelPackedLinearWeight()
        #expect(packed.shape == [(outFeatures + 15) / 16, inFeatures, 16])
        let input = try tensor(x, [rows, inFeatures])
        let tolerance = Float(inFeatures) * 2e-7 + 1e-6

        let plain = try input.panelLinear(packedWeight: packed, outFeatures: outFeatures, bias: nil, residual: nil, tile: tile)
        #expect(plain.shape == [rows, outFeatures])
        expectClose(
            try plain.floats(),
            Self.expected(x: x, rows: rows, inFeatures: inFeatures, weight: w, outFeatures: outFeatures, bias: nil, residual: nil),
            tolerance: tolerance)

        let full = try input.panelLinear(
            packedWeight: packed, outFeatures: outFeatures, bias: tensor(b, [outFeatures]),
            residual: tensor(add, [rows, outFeatures]), tile: tile)
        expectClose(
            try full.floats(),
            Self.expected(x: x, rows: rows, inFeatures: inFeatures, weight: w, outFeatures: outFeatures, bias: b, residual: add),
            tolerance: tolerance)
    }

    @Test(arguments: tiles)
    func agreesWithLibtorchOnBatchedAndStridedInput(tile: PanelTile) throws {
        var random = Lcg(state: 7)
        let weight = try tensor(random.values(2304 * 96), [2304, 96])
        let bias = try tensor(random.values(2304), [2304])
        let packed = try weight.panelPackedLinearWeight()
        // [3, 7, 96] batch, and a transposed (non-contiguous) view of the same shape.
        let batch = try tensor(random.values(3 * 7 * 96), [3, 7, 96])
        let strided = try tensor(random.values(3 * 96 * 7), [3, 96, 7]).transpose(1, 2)
        for input in [batch, strided] {
            let ours = try input.panelLinear(packedWeight: packed, outFeatures: 2304, bias: bias, residual: nil, tile: tile)
            #expect(ours.shape == [3, 7, 2304])
            expectClose(try ours.floats(), try input.linear(weight: weight, bias: bias).floats(), tolerance: 2e-5)
        }
    }

    @Test func emptyInputsGiveEmptyOrBiasOnlyOutputs() throws {
        let packed = try Tensor.ones([20, 4]).panelPackedLinearWeight()
        #expect(try Tensor.ones([0, 4]).panelLinear(packedWeight: packed, outFeatures: 20).shape == [0, 20])
        let noInputs = try Tensor.ones([3, 0]).panelPackedLinearWeight()
        let biasOnly = try Tensor.ones([2, 0]).panelLinear(
            packedWeight: noInputs, outFeatures: 3, bias: tensor([1, 2, 3], [3]))
        expectClose(try biasOnly.floats(), [1, 2, 3, 1, 2, 3])
    }

    @Test func misuseIsAnErrorNotACrash() throws {
        let packed = try Tensor.ones([32, 8]).panelPackedLinearWeight()
        let x = try Tensor.ones([2, 8])
        // Input features that do not match the weight.
        #expect(throws: TorchError.self) { try Tensor.ones([2, 9]).panelLinear(packedWeight: packed, outFeatures: 32) }
        // An output count that does not fit the panels.
        #expect(throws: TorchError.self) { try x.panelLinear(packedWeight: packed, outFeatures: 40) }
        #expect(throws: TorchError.self) { try x.panelLinear(packedWeight: packed, outFeatures: 16) }
        // A tensor that was never packed.
        #expect(throws: TorchError.self) { try x.panelLinear(packedWeight: Tensor.ones([32, 8]), outFeatures: 32) }
        // Wrong dtype, bias or residual shape.
        #expect(throws: TorchError.self) {
            try x.to(.float64).panelLinear(packedWeight: packed, outFeatures: 32)
        }
        #expect(throws: TorchError.self) {
            try x.panelLinear(packedWeight: packed, outFeatures: 32, bias: Tensor.ones([31]))
        }
        #expect(throws: TorchError.self) {
            try x.panelLinear(packedWeight: packed, outFeatures: 32, residual: Tensor.ones([2, 31]))
        }
        #expect(throws: TorchError.self) { try Tensor.ones([4]).panelPackedLinearWeight() }
        #expect(throws: TorchError.self) { try Tensor.ones([4, 4], dtype: .float64).panelPackedLinearWeight() }
    }
}
