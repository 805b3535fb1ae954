import Foundation
import Testing

@testable import Torch

@Suite struct MathTests {
    let x: [Float] = [-2, -0.5, 0, 0.25, 1, 3]
    var t: Tensor { get throws { try tensor(x, [6]) } }

    @Test func unaryOpsMatchScalarFormulas() throws {
        let positive: [Float] = [0.25, 1, 4, 9]
        let p = try tensor(positive, [4])
        expectClose(try t.neg().floats(), x.map { -$0 })
        expectClose(try t.exp().floats(), x.map { Foundation.exp($0) }, tolerance: 1e-5)
        expectClose(try p.log().floats(), positive.map { Foundation.log($0) })
        expectClose(try p.sqrt().floats(), [0.5, 1, 2, 3])
        expectClose(try p.rsqrt().floats(), [2, 1, 0.5, 1.0 / 3])
        expectClose(try p.reciprocal().floats(), [4, 1, 0.25, 1.0 / 9])
        expectClose(try t.tanh().floats(), x.map { Foundation.tanh($0) })
        expectClose(try t.sin().floats(), x.map { Foundation.sin($0) })
        expectClose(try t.cos().floats(), x.map { Foundation.cos($0) })
        expectClose(try t.sigmoid().floats(), x.map { 1 / (1 + Foundation.exp(-$0)) })
        expectClose(try t.relu().floats(), x.map { max($0, 0) })
        expectClose(try t.silu().floats(), x.map { $0 / (1 + Foundation.exp(-$0)) })
        expectClose(try t.abs().floats(), x.map { Swift.abs($0) })
        expectClose(try t.pow(2).floats(), x.map { $0 * $0 })
        expectClose(try t.clamp(min: -1, max: 1).floats(), [-1, -0.5, 0, 0.25, 1, 1])
        expectClose(try t.clamp(min: 0).floats(), [0, 0, 0, 0.25, 1, 3])
        expectClose(try t.clamp(max: 0).floats(), [-2, -0.5, 0, 0, 0, 0])
    }

    @Test func geluExactAndTanh() throws {
        let exact = x.map { 0.5 * $0 * (1 + Foundation.erf($0 / Float(2).squareRoot())) }
        let c = Float(2 / Double.pi).squareRoot()
        let approx = x.map { 0.5 * $0 * (1 + Foundation.tanh(c * ($0 + 0.044715 * $0 * $0 * $0))) }
        expectClose(try t.gelu().floats(), exact)
        expectClose(try t.gelu(.tanh).floats(), approx)
        // The two forms really differ, so the test tells them apart.
        #expect(Swift.abs(exact[0] - approx[0]) > 1e-5)
    }

    @Test func arithmeticAndBroadcasting() throws {
        let a = try tensor([1, 2, 3, 4], [2, 2])
        let row = try tensor([10, 20], [2])
        expectClose(try (a + row).floats(), [11, 22, 13, 24])
        expectClose(try (a - row).floats(), [-9, -18, -7, -16])
        expectClose(try (a * row).floats(), [10, 40, 30, 80])
        expectClose(try (row / a).floats(), [10, 10, 10.0 / 3, 5])
        expectClose(try (a + 1).floats(), [2, 3, 4, 5])
        expectClose(try (a - 1).floats(), [0, 1, 2, 3])
        expectClose(try (a * 2).floats(), [2, 4, 6, 8])
        expectClose(try (a / 4).floats(), [0.25, 0.5, 0.75, 1])
        expectClose(try (-a).floats(), [-1, -2, -3, -4])
        expectClose(try a.pow(a).floats(), [1, 4, 27, 256])
        expectClose(try a.maximum(try tensor([2, 2, 2, 2], [2, 2])).floats(), [2, 2, 3, 4])
        expectClose(try a.minimum(try tensor([2, 2, 2, 2], [2, 2])).floats(), [1, 2, 2, 2])
    }

    @Test func comparisonsAndLogic() throws {
        let a = try tensor([1, 2, 3], [3])
        let b = try tensor([3, 2, 1], [3])
        #expect(try a.eq(b).bools() == [false, true, false])
        #expect(try a.ne(b).bools() == [true, false, true])
        #expect(try a.lt(b).bools() == [true, false, false])
        #expect(try a.le(b).bools() == [true, true, false])
        #expect(try a.gt(b).bools() == [false, false, true])
        #expect(try a.ge(b).bools() == [false, true, true])
        #expect(try a.eq(2).bools() == [false, true, false])
        #expect(try a.ne(2).bools() == [true, false, true])
        #expect(try a.lt(2).bools() == [true, false, false])
        #expect(try a.le(2).bools() == [true, true, false])
        #expect(try a.ge(2).bools() == [false, true, true])
        let p = try a.gt(1)
        let q = try a.lt(3)
        #expect(try p.logicalAnd(q).bools() == [false, true, false])
        #expect(try p.logicalOr(q).bools() == [true, true, true])
        #expect(try p.logicalNot().bools() == [true, false, false])
    }
}
