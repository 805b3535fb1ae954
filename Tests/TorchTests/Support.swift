import Foundation
import Testing

@testable import Torch

/// Fails with the first index where `actual` and `expected` differ by more than `tolerance`.
func expectClose(
    _ actual: [Float], _ expected: [Float], tolerance: Float = 1e-5, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "count \(actual.count) != \(expected.count)", sourceLocation: sourceLocation)
    for (index, (a, e)) in zip(actual, expected).enumerated() where Swift.abs(a - e) > tolerance || a.isNaN != e.isNaN {
        Issue.record("element \(index): \(a) != \(e) (tolerance \(tolerance))", sourceLocation: sourceLocation)
        return
    }
}

/// A deterministic pseudo-random sequence (so expected values are computed independently of libtorch).
struct Lcg {
    var state: UInt64
    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
    mutating func values(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

func tensor(_ values: [Float], _ shape: [Int]) throws -> Tensor { try Tensor(floats: values, shape: shape) }
