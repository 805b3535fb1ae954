/// The embedding of one input: one `dim`-sized vector per token of its own (padding excluded),
/// stored row-major in one flat array so that large image embeddings stay one allocation.
///
/// The one token-vectors type: the model returns it, and the service's engine and routes pass
/// it on unchanged (the JSON writer reads `values` with `dim` columns).
public struct TokenVectors: Sendable, Equatable {
    public let tokenCount: Int
    public let dim: Int
    /// tokenCount × dim values, token-major.
    public let values: [Float]

    public init(tokenCount: Int, dim: Int, values: [Float]) {
        precondition(values.count == tokenCount * dim, "TokenVectors: \(values.count) values for \(tokenCount)×\(dim)")
        self.tokenCount = tokenCount
        self.dim = dim
        self.values = values
    }

    /// The vector of token `index`.
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * dim)..<((index + 1) * dim)]
    }

    /// One array per token (the JSON shape of the API).
    public var rows: [[Float]] {
        (0..<tokenCount).map { Array(row($0)) }
    }
}
