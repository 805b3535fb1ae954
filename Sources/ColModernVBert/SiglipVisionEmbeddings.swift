import Torch

/// SigLIP patch embedding: a stride-`patch` convolution, then learned absolute positions.
struct SiglipVisionEmbeddings: Sendable {
    /// [hidden, channels, patch, patch]
    let patchWeight: Tensor
    let patchBias: Tensor
    /// [numPatches, hidden]
    let positions: Tensor
    let patchSize: Int

    /// The convolution's weights from `matrices`, the positions (added to the residual stream) from `stream`.
    init(store matrices: WeightStore, stream: WeightStore, config: VisionConfig) throws {
        let prefix = "vision_model.embeddings"
        let hidden = config.hiddenSize
        let patch = config.patchSize
        patchWeight = try matrices.tensor(prefix + ".patch_embedding.weight", shape: [hidden, config.numChannels, patch, patch])
        patchBias = try matrices.tensor(prefix + ".patch_embedding.bias", shape: [hidden])
        positions = try stream.tensor(prefix + ".position_embedding.weight", shape: [config.numPatches, hidden])
        patchSize = patch
    }

    /// tiles [N, C, S, S] in the convolution's dtype → [N, numPatches, hidden] in the positions' dtype
    func callAsFunction(_ tiles: Tensor) throws -> Tensor {
        let patches = try tiles.conv2d(
            weight: patchWeight, bias: patchBias, stride: [patchSize, patchSize])  // [N, hidden, g, g]
        // Made contiguous once here: the sum would keep the transposed layout (an elementwise op
        // lays its output out like its input), and so would every residual sum after it, so each
        // layer norm of the tower copied its input to a contiguous one first (3.5 % of a page's
        // samples, 24 copies per 2-tile batch) and the residual adds ran strided.
        return try patches.flatten(2).transpose(1, 2).contiguous() + positions
    }
}
