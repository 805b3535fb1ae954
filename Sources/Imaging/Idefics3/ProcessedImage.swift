/// One image ready for the vision tower: its tiles as normalised floats, and the
/// tile grid the prompt builder needs for `<row_R_col_C>` tokens.
public struct ProcessedImage: Sendable, Equatable {
    /// Tiles laid out as [tileCount, 3, tileHeight, tileWidth], channels R, G, B.
    /// For a split image: rows x cols tiles in row-major order, then the global
    /// (whole image downscaled) tile last.
    public let pixelValues: [Float]
    public let tileCount: Int
    public let tileHeight: Int
    public let tileWidth: Int
    /// Tile rows and columns, both 0 when the image was not split (single global tile).
    public let rows: Int
    public let cols: Int

    public var shape: [Int] { [tileCount, 3, tileHeight, tileWidth] }
    /// Floats per tile (3 * tileHeight * tileWidth).
    public var tileLength: Int { 3 * tileHeight * tileWidth }
}

/// The tile grid of one processed image.
public struct TileLayout: Sendable, Equatable {
    /// Tile rows and columns, both 0 when the image is not split.
    public let rows: Int
    public let cols: Int
    /// Side of every (square) tile.
    public let tileSize: Int

    public init(rows: Int, cols: Int, tileSize: Int) {
        self.rows = rows
        self.cols = cols
        self.tileSize = tileSize
    }

    /// rows x cols split tiles plus the global tile, or just the global tile.
    public var tileCount: Int { rows == 0 ? 1 : rows * cols + 1 }
    /// Floats for all tiles: tileCount x 3 x tileSize x tileSize.
    public var valueCount: Int { tileCount * 3 * tileSize * tileSize }
}
