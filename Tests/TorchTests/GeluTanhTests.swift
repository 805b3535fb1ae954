import Foundation
import Testing

@testable import Torch

/// The bridge's one-pass bias + tanh GELU against the function computed here in double precision
/// and against libtorch's own `gelu(.tanh)`, on both its paths (AVX2 and scalar).
@Suite struct GeluTanhTests {
    /// 0.5·v·(1 + tanh(u)), u = √(2/π)·(v + 0.044715·v³), in Double, as v / (1 + e^(−2u)): the
    /// tanh form cancels for v below about −6 even in Double (1 + tanh u under 1e-16).
    static func exact(_ v: Float) -> Double {
        let x = Double(v)
        return x / (1 + Foundation.exp(-2 * (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }

    @Test func theReferenceFormIsTheTanhForm() {
        for v: Float in [-5, -1.5, -0.3, 0, 0.2, 1, 3, 8] {
            let x = Double(v)
            let tanhForm = 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            #expect(Swift.abs(Self.exact(v) - tanhForm) <= 1e-15 * Swift.max(1, Swift.abs(x)))
        }
    }

    /// Inputs from −20 to 20 (where the tanh form's cancellation shows) and a random spread, in
    /// rows of 37 (four 8-lane blocks and a scalar tail).
    static func inputs() -> [Float] {
        var random = Lcg(state: 11)
        return (0..<400).map { -20 + Float($0) / 10 } + random.values(340).map { $0 * 6 }
    }

    @Test(arguments: [true, false])
    func matchesTheFunctionInDoublePrecision(vectorized: Bool) throws {
        let values = Self.inputs()
        let result = try tensor(values, [20, 37]).geluTanhInPlace(addingBias: nil, vectorized: vectorized).floats()
        for (v, y) in zip(values, result) {
            let exact = Self.exact(v)
            // A few float ulps (1.2e-7 each) of the result, relative, plus what rounding e^(−2u)'s
            // argument to float costs any float implementation: |2u| ulps.
            let x = Double(v)
            let u: Double = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
            let bound: Double = (5 + 2 * Swift.abs(u)) * 1.2e-7 * Swift.abs(exact)
            let error: Double = Swift.abs(Double(y) - exact)
            if Swift.abs(exact) < 1e-30 {  // v below about −9: zero at float's scale, either way
                #expect(Swift.abs(y) < 1e-30, "gelu_tanh(\(v)) = \(y), exact \(exact)")
            } else {
                #expect(error <= bound, "gelu_tanh(\(v)) = \(y), exact \(exact)")
            }
        }
    }

    @Test(arguments: [true, false])
    func agreesWithLibtorchWithABias(vectorized: Bool) throws {
        var random = Lcg(state: 5)
        let values = Self.inputs()
        let bias = random.values(37)
        let expected = try (tensor(values, [20, 37]) + tensor(bias, [37])).gelu(.tanh).floats()
        let ours = try tensor(values, [20, 37]).geluTanhInPlace(addingBias: tensor(bias, [37]), vectorized: vectorized)
        // libtorch's 0.5·v·(1 + tanh u) loses up to ~ulp(1)·|v|/2 for v < 0 by cancellation.
        expectClose(try ours.floats(), expected, tolerance: 2e-6)
    }

    @Test func itWritesIntoItsInput() throws {
        let input = try tensor([-1, 0, 1, 2], [1, 4])
        let output = try input.geluTanhInPlace(addingBias: nil)
        expectClose(try input.floats(), try output.floats(), tolerance: 0)
        expectClose(try output.floats(), [-0.158_808, 0, 0.841_192, 1.954_598], tolerance: 1e-6)
    }

    @Test(arguments: [true, false])
    func extremesStayFinite(vectorized: Bool) throws {
        let values: [Float] = [100, 1e30, -100, -1e30, 0, .nan, .infinity]
        let result = try tensor(values, [1, 7]).geluTanhInPlace(addingBias: nil, vectorized: vectorized).floats()
        #expect(result[0] == 100)
        #expect(result[1] == 1e30)
        // e^(−2u) is clamped below 2.4e38: tiny results, not −0 or NaN.
        #expect(result[2] < 0 && result[2] > -1e-36 && result[3] < 0 && result[3] > -1e-8)
        #expect(result[4] == 0)
        #expect(result[5].isNaN)
        #expect(result[6] == .infinity)
    }

    @Test func misuseIsAnErrorNotACrash() throws {
        let x = try Tensor.ones([3, 8])
        #expect(throws: TorchError.self) { try x.transpose(0, 1).geluTanhInPlace(addingBias: nil) }
        #expect(throws: TorchError.self) { try x.to(.float64).geluTanhInPlace(addingBias: nil) }
        #expect(throws: TorchError.self) { try x.geluTanhInPlace(addingBias: Tensor.ones([7])) }
        #expect(throws: TorchError.self) { try x.geluTanhInPlace(addingBias: Tensor.ones([8], dtype: .float64)) }
        #expect(try Tensor.ones([0, 8]).geluTanhInPlace(addingBias: Tensor.ones([8])).shape == [0, 8])
    }
}
