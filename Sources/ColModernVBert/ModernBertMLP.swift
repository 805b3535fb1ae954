import Torch

/// ModernBERT's GeGLU feed-forward: Wi gives [input | gate], act(input) · gate, then Wo.
struct ModernBertMLP: Sendable {
    let wi: Linear
    let wo: Linear
    let activation: GeluApproximation
    let intermediate: Int

    init(store: WeightStore, prefix: String, config: TextConfig, packing: LinearPacking) throws {
        intermediate = config.intermediateSize
        wi = try packing.apply(
            store.linear(prefix + ".Wi", out: 2 * intermediate, in: config.hiddenSize, bias: config.mlpBias), name: prefix + ".Wi")
        wo = try packing.apply(
            store.linear(prefix + ".Wo", out: config.hiddenSize, in: intermediate, bias: config.mlpBias), name: prefix + ".Wo")
        activation = try GeluApproximationName.parse(config.hiddenActivation, field: "text_config.hidden_activation")
    }

    /// x [B, L, hidden] → residual + mlp(x), [B, L, hidden]
    func callAsFunction(_ x: Tensor, residual: Tensor) throws -> Tensor {
        let projected = try wi(x)  // [B, L, 2·I]
        let input = try projected.narrow(dim: -1, start: 0, length: intermediate)
        let gate = try projected.narrow(dim: -1, start: intermediate, length: intermediate)
        return try wo(input.gelu(activation) * gate, adding: residual)
    }
}
