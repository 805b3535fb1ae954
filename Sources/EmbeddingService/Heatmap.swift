/// How query-token similarities are combined per image patch.
public enum HeatmapAggregate: String, Sendable, CaseIterable {
    case max, mean, sum

    /// Anything other than "mean" or "sum" means "max", as in the old service.
    public init(parsing text: String?) {
        self = text.flatMap { HeatmapAggregate(rawValue: $0.lowercased()) } ?? .max
    }
}

/// A similarity map laid out like the picture.
public struct Heatmap: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Raw aggregated scores before normalisation.
    public let minScore: Float
    public let maxScore: Float
    /// `rows` × `columns` values in [0, 1].
    public let values: [[Float]]

    /// Builds the heatmap of a query against an image.
    ///
    /// - Parameters:
    ///   - query: the query's token vectors (L2-normalised, so a dot product is the cosine).
    ///   - patches: the image's `<image>` token vectors in prompt order: the split tiles
    ///     row-major, then the global tile (or only the global tile for an unsplit image).
    ///   - tileRows, tileColumns: the tile grid (0 × 0 for an unsplit image).
    ///   - tokensPerSide: √image_seq_len, the token grid inside one tile (8 for 64 tokens).
    ///
    /// Inside a tile, token k sits at row k / side, column k % side (the pixel shuffle keeps
    /// row-major block order). The global tile is left out when there are split tiles, so
    /// the grid lines up with the picture.
    public static func compute(
        query: [[Float]], patches: [[Float]], tileRows: Int, tileColumns: Int, tokensPerSide: Int,
        aggregate: HeatmapAggregate
    ) throws -> Heatmap {
        let perTile = tokensPerSide * tokensPerSide
        let split = tileRows > 0 && tileColumns > 0
        let tiles = split ? tileRows * tileColumns : 0
        let expected = (tiles + 1) * perTile
        guard tokensPerSide > 0, patches.count == expected else {
            throw HeatmapError.patchCountMismatch(expected: expected, actual: patches.count)
        }
        guard !query.isEmpty else { throw HeatmapError.emptyQuery }

        let gridRows = split ? tileRows * tokensPerSide : tokensPerSide
        let gridColumns = split ? tileColumns * tokensPerSide : tokensPerSide
        var scores = [[Float]](repeating: [Float](repeating: 0, count: gridColumns), count: gridRows)
        for index in 0..<(split ? tiles * perTile : perTile) {
            let patch = patches[index]
            let score = combine(query.map { dot($0, patch) }, aggregate)
            let tile = index / perTile
            let within = index % perTile
            let row = (split ? tile / tileColumns : 0) * tokensPerSide + within / tokensPerSide
            let column = (split ? tile % tileColumns : 0) * tokensPerSide + within % tokensPerSide
            scores[row][column] = score
        }

        let flat = scores.joined()
        let low = flat.min() ?? 0
        let high = flat.max() ?? 0
        let span = high - low
        let normalised = scores.map { row in row.map { span > 0 ? ($0 - low) / span : 0 } }
        return Heatmap(rows: gridRows, columns: gridColumns, minScore: low, maxScore: high, values: normalised)
    }

    private static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var total: Float = 0
        for i in 0..<min(a.count, b.count) { total += a[i] * b[i] }
        return total
    }

    private static func combine(_ values: [Float], _ aggregate: HeatmapAggregate) -> Float {
        switch aggregate {
        case .max: values.max() ?? 0
        case .sum: values.reduce(0, +)
        case .mean: values.reduce(0, +) / Float(max(values.count, 1))
        }
    }
}

public enum HeatmapError: Error, CustomStringConvertible, Equatable {
    case patchCountMismatch(expected: Int, actual: Int)
    case emptyQuery

    public var description: String {
        switch self {
        case .patchCountMismatch(let expected, let actual):
            "image has \(actual) patch embeddings where its tile layout implies \(expected)"
        case .emptyQuery: "query produced no token embeddings"
        }
    }
}
