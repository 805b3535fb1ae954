import Testing

@testable import EmbeddingService

@Suite struct HeatmapTests {
    /// Patch vectors whose similarity with the query [1, 0] is a recognisable number per
    /// (grid row, grid column).
    private func patches(rows: Int, columns: Int, side: Int, global: Float = -5) -> [[Float]] {
        var out: [[Float]] = []
        for tile in 0..<(rows * columns) {
            for k in 0..<(side * side) {
                let r = (tile / columns) * side + k / side
                let c = (tile % columns) * side + k % side
                out.append([Float(r * 100 + c), 1])
            }
        }
        out += [[Float]](repeating: [global, 1], count: side * side)
        return out
    }

    @Test func gridFollowsTileLayoutAndLeavesGlobalTileOut() throws {
        let map = try Heatmap.compute(
            query: [[1, 0]], patches: patches(rows: 2, columns: 3, side: 2), tileRows: 2, tileColumns: 3,
            tokensPerSide: 2, aggregate: .max)
        #expect(map.rows == 4)
        #expect(map.columns == 6)
        #expect(map.minScore == 0)
        #expect(map.maxScore == 305)
        // Raw score at (r, c) is 100r + c; normalised by the 0...305 range.
        for r in 0..<4 {
            for c in 0..<6 {
                let expected = Float(r * 100 + c) / 305
                #expect(Swift.abs(map.values[r][c] - expected) < 1e-6, "(\(r), \(c))")
            }
        }
    }

    @Test func unsplitImageUsesTheGlobalTile() throws {
        let global: [[Float]] = (0..<4).map { [Float($0), 0] }
        let map = try Heatmap.compute(
            query: [[1, 0]], patches: global, tileRows: 0, tileColumns: 0, tokensPerSide: 2, aggregate: .max)
        #expect(map.rows == 2 && map.columns == 2)
        #expect(map.values == [[0, 1.0 / 3], [2.0 / 3, 1]])
    }

    @Test func aggregatesOverQueryTokens() throws {
        let image: [[Float]] = [[1, 0], [0, 1], [1, 1], [0, 0]]
        let query: [[Float]] = [[1, 0], [0, 2]]
        // per patch: token scores (1,0) (0,2) (1,2) (0,0)
        let maxMap = try Heatmap.compute(query: query, patches: image, tileRows: 0, tileColumns: 0, tokensPerSide: 2, aggregate: .max)
        #expect(maxMap.maxScore == 2 && maxMap.minScore == 0)
        #expect(maxMap.values == [[0.5, 1], [1, 0]])
        let sumMap = try Heatmap.compute(query: query, patches: image, tileRows: 0, tileColumns: 0, tokensPerSide: 2, aggregate: .sum)
        #expect(sumMap.maxScore == 3)
        #expect(sumMap.values == [[1.0 / 3, 2.0 / 3], [1, 0]])
        let meanMap = try Heatmap.compute(query: query, patches: image, tileRows: 0, tileColumns: 0, tokensPerSide: 2, aggregate: .mean)
        #expect(meanMap.maxScore == 1.5)
    }

    @Test func parsingAggregateDefaultsToMax() {
        #expect(HeatmapAggregate(parsing: "mean") == .mean)
        #expect(HeatmapAggregate(parsing: "SUM") == .sum)
        #expect(HeatmapAggregate(parsing: "median") == .max)
        #expect(HeatmapAggregate(parsing: nil) == .max)
    }

    @Test func constantScoresNormaliseToZeroAndBadCountsThrow() throws {
        let flat = try Heatmap.compute(
            query: [[1]], patches: [[1], [1], [1], [1]], tileRows: 0, tileColumns: 0, tokensPerSide: 2, aggregate: .max)
        #expect(flat.values == [[0, 0], [0, 0]])
        #expect(throws: HeatmapError.patchCountMismatch(expected: 20, actual: 4)) {
            try Heatmap.compute(
                query: [[1]], patches: [[1], [1], [1], [1]], tileRows: 2, tileColumns: 2, tokensPerSide: 2, aggregate: .max)
        }
        #expect(throws: HeatmapError.emptyQuery) {
            try Heatmap.compute(query: [], patches: [[1], [1], [1], [1]], tileRows: 0, tileColumns: 0, tokensPerSide: 2, aggregate: .max)
        }
    }
}
