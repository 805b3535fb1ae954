import Foundation
import Torch

/// Rotary position embeddings of ModernBERT, one frequency set per attention kind
/// (`rope_parameters[kind].rope_theta`), positions 0..<L for every row of a batch.
///
/// Rows of a left-padded batch thus see shifted positions; rotary attention scores depend only on
/// position differences, so a sequence's own tokens get the same result padded or alone.
struct RotaryEmbedding: Sendable {
    /// [headDim / 2] float32 per kind: 1 / theta^(2i / headDim).
    let inverseFrequencies: [AttentionKind: Tensor]
    let headDim: Int

    init(config: TextConfig, device: Device) throws {
        let headDim = config.headDim
        self.headDim = headDim
        var frequencies: [AttentionKind: Tensor] = [:]
        for kind in Set(config.layerTypes) {
            let theta = config.ropeTheta[kind] ?? 10_000
            // Computed in double and rounded once; torch computes the same expression in float32.
            let values = stride(from: 0, to: headDim, by: 2).map { index in
                Float(1.0 / Foundation.pow(theta, Double(Float(index) / Float(headDim))))
            }
            frequencies[kind] = try ColModernVBertError.wrapping {
                try Tensor(floats: values, shape: [values.count]).to(device)
            }
        }
        inverseFrequencies = frequencies
    }

    /// cos and sin for positions 0..<length, rounded to `dtype` as the reference does, kept in float32.
    func table(kind: AttentionKind, length: Int, device: Device, dtype: DType) throws -> RotaryTable {
        guard let inverse = inverseFrequencies[kind] else {
            throw ColModernVBertError.invalidConfig(field: "layer_types", reason: "no rotary frequencies for \(kind.rawValue)")
        }
        let positions = try Tensor.arange(0, Double(length), dtype: .float32, device: device)
        let angles = try positions.unsqueeze(1) * inverse.unsqueeze(0)  // [L, D/2]
        let sine = try angles.sin()
        func rounded(_ t: Tensor) throws -> Tensor {
            try t.to(dtype).to(.float32).view([1, 1, length, headDim])
        }
        return RotaryTable(
            cos: try rounded(Tensor.cat([angles, angles], dim: -1).cos()),
            signedSin: try rounded(Tensor.cat([sine.neg(), sine], dim: -1)))
    }
}

/// cos/sin of one forward pass for one attention kind, [1, 1, L, headDim] float32.
struct RotaryTable {
    let cos: Tensor
    /// sin with the first half negated, so that rotate_half(x)·sin = (x₂, x₁)·(−sin, sin): the
    /// same products, one op fewer.
    let signedSin: Tensor

    /// x·cos + rotate_half(x)·sin over [..., L, headDim], computed in float32 like the reference.
    /// Applied to queries and keys stacked together, in one pass.
    func apply(_ x: Tensor) throws -> Tensor {
        let dtype = x.dtype
        let wide = dtype == .float32 ? x : try x.to(.float32)
        let half = wide.size(-1) / 2
        let swapped = try Tensor.cat(
            [wide.narrow(dim: -1, start: half, length: half), wide.narrow(dim: -1, start: 0, length: half)], dim: -1)
        let result = try wide * cos + swapped * signedSin
        return dtype == .float32 ? result : try result.to(dtype)
    }
}
