import ColModernVBert

/// An image item as `/embed/images` writes it: its rows and where the image-patch vectors
/// are among them.
///
/// Pooled (factor > 1), only the image-patch rows (those at `imagePatchIndices`) go through
/// `TokenPooler`; the text-token rows are kept. The layout is: the text-token rows before the
/// first patch, then the pooled vectors (contiguous), then every other text-token row in its
/// original order (the tile separators between the patches and the prompt's tail). So
/// `image_patch_start` is the first pooled row, `image_patch_len` the number of pooled
/// vectors and `image_patch_indices` their rows, just as for an unpooled item.
struct PooledImageEmbedding: Sendable, Equatable {
    let vectors: TokenVectors
    let imagePatchIndices: [Int]
    /// The factor the patches were pooled by (1: not pooled, rows as the model gave them).
    let poolFactor: Int

    private init(vectors: TokenVectors, imagePatchIndices: [Int], poolFactor: Int) {
        self.vectors = vectors
        self.imagePatchIndices = imagePatchIndices
        self.poolFactor = poolFactor
    }

    init(unpooled embedding: ImageEmbedding) {
        self.init(vectors: embedding.vectors, imagePatchIndices: embedding.imagePatchIndices, poolFactor: 1)
    }

    /// `embedding` with its image-patch vectors pooled by `factor` (≥ 1).
    init(pooling embedding: ImageEmbedding, factor: Int) {
        let patches = embedding.imagePatchIndices
        guard factor > 1, let first = patches.first else {
            self.init(unpooled: embedding)
            return
        }
        let source = embedding.vectors
        let dim = source.dim
        var patchValues: [Float] = []
        patchValues.reserveCapacity(patches.count * dim)
        for index in patches { patchValues.append(contentsOf: source.row(index)) }
        let pooled = TokenPooler.pool(patchValues, count: patches.count, dim: dim, factor: factor)
        let pooledCount = pooled.clusters.count

        let isPatch = Set(patches)
        let textAfter = (first..<source.tokenCount).filter { !isPatch.contains($0) }
        var values: [Float] = []
        values.reserveCapacity((first + pooledCount + textAfter.count) * dim)
        values.append(contentsOf: source.values[0..<(first * dim)])
        values.append(contentsOf: pooled.values)
        for index in textAfter { values.append(contentsOf: source.row(index)) }

        self.init(
            vectors: TokenVectors(tokenCount: first + pooledCount + textAfter.count, dim: dim, values: values),
            imagePatchIndices: Array(first..<(first + pooledCount)), poolFactor: factor)
    }
}
