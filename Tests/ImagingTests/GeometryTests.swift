import Testing

@testable import Imaging

/// Size arithmetic and the `/patches` grid against the reference.
@Suite struct GeometryTests {
    let fixtures = ImageFixtures.committed

    @Test func patchesMatchTheReference() throws {
        let cases = try #require(fixtures.expected.patches)
        #expect(cases.count > 50)
        for item in cases {
            let config = try fixtures.config(item.config)
            let length = try #require(config.imageSeqLen)
            let grid = try PatchGrid.compute(width: item.width, height: item.height, config: config, imageSeqLen: length)
            #expect(grid == PatchGrid(patchesX: item.n_patches_x, patchesY: item.n_patches_y), "\(item)")
            if item.reference_rows > 0 {
                // The grid is the real tiling: x follows the columns (width), y the rows.
                let side = Int(Double(length).squareRoot())
                #expect(grid.patchesX == item.reference_cols * side && grid.patchesY == item.reference_rows * side)
            }
        }
    }

    @Test func xFollowsWidth() throws {
        let grid = try PatchGrid.compute(width: 2000, height: 100, config: .published, imageSeqLen: 64)
        #expect(grid == PatchGrid(patchesX: 32, patchesY: 8))
        let tall = try PatchGrid.compute(width: 100, height: 2000, config: .published, imageSeqLen: 64)
        #expect(tall == PatchGrid(patchesX: 8, patchesY: 32))
    }

    @Test(arguments: [(0, 10), (10, 0), (-5, 10), (10, -1), (0, 0)])
    func invalidDimensions(width: Int, height: Int) {
        #expect(throws: PatchGrid.Failure.invalidDimensions(width: width, height: height)) {
            try PatchGrid.compute(width: width, height: height, config: .published, imageSeqLen: 64)
        }
    }

    @Test func imageSeqLenMustBeASquare() {
        #expect(throws: PatchGrid.Failure.invalidImageSeqLen(60)) {
            try PatchGrid.compute(width: 10, height: 10, config: .published, imageSeqLen: 60)
        }
    }

    @Test func resizeRuleMatchesTransformers() {
        // 1700x2200 page: height -> 2048, width int(2048 * 1700/2200) = 1582 (even).
        #expect(Idefics3Geometry.resizedSize(height: 2200, width: 1700, longestEdge: 2048) == (2048, 1582))
        // Odd short side is bumped to even.
        #expect(Idefics3Geometry.resizedSize(height: 100, width: 2000, longestEdge: 2048) == (102, 2048))
        // Degenerate aspect: never below 1.
        #expect(Idefics3Geometry.resizedSize(height: 1, width: 5000, longestEdge: 256) == (1, 256))
        #expect(Idefics3Geometry.visionEncoderSize(height: 2048, width: 1582, tileSize: 512) == (2048, 2048))
        #expect(Idefics3Geometry.visionEncoderSize(height: 102, width: 2048, tileSize: 512) == (512, 2048))
        #expect(Idefics3Geometry.tileGrid(height: 512, width: 2048, tileSize: 512) == (1, 4))
        #expect(Idefics3Geometry.tileGrid(height: 512, width: 512, tileSize: 512) == (0, 0))
    }

    @Test func patchGridAgreesWithTheProcessorsTiling() {
        // For the published config the /patches formula and the real tiling coincide.
        for width in stride(from: 1, through: 5000, by: 97) {
            for height in stride(from: 1, through: 5000, by: 89) {
                let resized = Idefics3Geometry.resizedSize(height: height, width: width, longestEdge: 2048)
                let encoder = Idefics3Geometry.visionEncoderSize(
                    height: resized.height, width: resized.width, tileSize: 512)
                let tiles = Idefics3Geometry.tileGrid(height: encoder.height, width: encoder.width, tileSize: 512)
                let grid = try? PatchGrid.compute(width: width, height: height, config: .published, imageSeqLen: 64)
                #expect(grid == PatchGrid(patchesX: tiles.cols * 8, patchesY: tiles.rows * 8), "\(width)x\(height)")
            }
        }
    }
}
