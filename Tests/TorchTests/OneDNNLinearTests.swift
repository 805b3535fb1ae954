import Foundation
import Testing

@testable import Torch

/// oneDNN's matmul through the bridge (`Tensor.oneDNNLinear`): act(x·Wᵀ + b) on a plain or packed
/// weight, against the same computed here in double precision.
@Suite struct OneDNNLinearTests {
    /// The dtypes oneDNN runs here: float32 always, bfloat16 where the CPU has AVX-512 (oneDNN's
    /// bfloat16 kernels need avx512_core; natively with AVX512_BF16, emulated without).
    static let dtypes: [DType] = CPUFeatures.detect().hardwareISA >= .avx512 ? [.float32, .bfloat16] : [.float32]

    static func gelu(_ x: Double, _ approximation: GeluApproximation?) -> Double {
        switch approximation {
        case nil: x
        case .some(.tanh): 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        case .some(.none): 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var rows: Int
        var inFeatures: Int
        var outFeatures: Int
        var bias: Bool
        var gelu: GeluApproximation?
        var packed: Bool
        var description: String {
            "\(rows)x\(inFeatures)->\(outFeatures) bias \(bias) gelu \(gelu.map { "\($0)" } ?? "-") packed \(packed)"
        }
    }

    static let cases: [Case] = [
        Case(rows: 1, inFeatures: 16, outFeatures: 24, bias: true, gelu: nil, packed: false),
        Case(rows: 7, inFeatures: 48, outFeatures: 40, bias: false, gelu: nil, packed: false),
        Case(rows: 64, inFeatures: 48, outFeatures: 40, bias: true, gelu: .tanh, packed: false),
        Case(rows: 33, inFeatures: 16, outFeatures: 72, bias: true, gelu: GeluApproximation.none, packed: false),
        Case(rows: 64, inFeatures: 48, outFeatures: 40, bias: true, gelu: nil, packed: true),
        Case(rows: 5, inFeatures: 48, outFeatures: 40, bias: true, gelu: .tanh, packed: true),
    ]

    @Test(arguments: dtypes, cases)
    func matchesTheProductInDoublePrecision(dtype: DType, testCase: Case) throws {
        var random = Lcg(state: UInt64(testCase.rows * 1000 + testCase.outFeatures))
        // Inputs rounded to the dtype first, so that the expected values see what the kernel sees.
        let x = try tensor(random.values(testCase.rows * testCase.inFeatures), [testCase.rows, testCase.inFeatures]).to(dtype)
        let weight = try tensor(random.values(testCase.outFeatures * testCase.inFeatures), [testCase.outFeatures, testCase.inFeatures])
            .to(dtype)
        let bias = testCase.bias ? try tensor(random.values(testCase.outFeatures), [testCase.outFeatures]).to(dtype) : nil
        let (xs, ws, bs) = (try x.floats(), try weight.floats(), try bias?.floats())
        var expected = [Float](repeating: 0, count: testCase.rows * testCase.outFeatures)
        for r in 0..<testCase.rows {
            for o in 0..<testCase.outFeatures {
                var sum = Double(bs?[o] ?? 0)
                for k in 0..<testCase.inFeatures {
                    sum += Double(xs[r * testCase.inFeatures + k]) * Double(ws[o * testCase.inFeatures + k])
                }
                expected[r * testCase.outFeatures + o] = Float(Self.gelu(sum, testCase.gelu))
            }
        }
        let w = testCase.packed ? try weight.oneDNNPackedLinearWeight(batchHint: testCase.rows) : weight
        let y = try x.oneDNNLinear(weight: w, bias: bias, gelu: testCase.gelu)
        #expect(y.dtype == dtype)
        #expect(y.shape == [testCase.rows, testCase.outFeatures])
        // float32: accumulation order only; bfloat16: the output's rounding (8 bits, |y| < 8).
        expectClose(try y.floats(), expected, tolerance: dtype == .float32 ? 2e-5 : 4e-2)
    }

    @Test(arguments: dtypes)
    func batchedAndStridedInputsAreTheirRowsProducts(dtype: DType) throws {
        var random = Lcg(state: 7)
        let weight = try tensor(random.values(24 * 16), [24, 16]).to(dtype)
        let bias = try tensor(random.values(24), [24]).to(dtype)
        // [2, 3, 16] batched; and a transposed view whose rows are not contiguous.
        let batched = try tensor(random.values(2 * 3 * 16), [2, 3, 16]).to(dtype)
        let strided = try tensor(random.values(16 * 5), [16, 5]).to(dtype).transpose(0, 1)
        #expect(!strided.isContiguous)
        for x in [batched, strided] {
            let y = try x.oneDNNLinear(weight: weight, bias: bias, gelu: .tanh)
            let reference = try x.to(.float32).linear(weight: weight.to(.float32), bias: bias.to(.float32)).gelu(.tanh)
            #expect(y.shape == x.shape.dropLast() + [24])
            expectClose(try y.floats(), try reference.floats(), tolerance: dtype == .float32 ? 2e-5 : 4e-2)
        }
    }

    @Test func mismatchedShapesAreErrors() throws {
        let weight = try Tensor.ones([8, 4])
        #expect(throws: TorchError.self) { try Tensor.ones([2, 5]).oneDNNLinear(weight: weight) }
        #expect(throws: TorchError.self) { try Tensor.ones([2, 4]).oneDNNLinear(weight: weight, bias: Tensor.ones([7])) }
    }
}
