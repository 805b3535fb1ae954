import Torch

/// ModernVBert's connector: pixel shuffle (f×f neighbouring patches folded into the channel
/// dimension, in the reference's exact order), then a bias-free projection into the text width.
struct Connector: Sendable {
    let projection: Linear
    let factor: Int

    init(store: WeightStore, config: ModelConfig, packing: LinearPacking = .none) throws {
        factor = config.pixelShuffleFactor
        let name = "connector.modality_projection"
        projection = try packing.apply(
            store.linear(name, out: config.text.hiddenSize, in: config.vision.hiddenSize * factor * factor, bias: false),
            name: name)
    }

    /// x [N, S, E] with S = side² → [N, S/f², E·f²], following the reference's view/permute sequence:
    /// [N, h, w, E] → [N, h, w/f, E·f] → swap(1, 2) → [N, w/f, h/f, E·f²] → swap(1, 2) → [N, S/f², E·f²].
    static func pixelShuffle(_ x: Tensor, factor: Int) throws -> Tensor {
        let tiles = x.size(0)
        let sequence = x.size(1)
        let channels = x.size(2)
        var side = 0
        while side * side < sequence { side += 1 }
        guard side * side == sequence, side % factor == 0 else {
            throw ColModernVBertError.invalidInput(
                "pixel shuffle needs a square patch grid divisible by \(factor); got \(sequence) patches")
        }
        let reduced = side / factor
        let step1 = try x.view([tiles, side, reduced, channels * factor]).permute([0, 2, 1, 3])
        let step2 = try step1.reshape([tiles, reduced, reduced, channels * factor * factor]).permute([0, 2, 1, 3])
        return try step2.reshape([tiles, reduced * reduced, channels * factor * factor])
    }

    /// vision states [N, S, E] → image features [N, S/f², textHidden]
    func callAsFunction(_ visionStates: Tensor) throws -> Tensor {
        try projection(Self.pixelShuffle(visionStates, factor: factor))
    }
}
