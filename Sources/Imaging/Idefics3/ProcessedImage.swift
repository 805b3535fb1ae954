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
    /// The tile grid (tiles are square: `tileHeight == tileWidth`).
    public var layout: TileLayout { TileLayout(rows: rows, cols: cols, tileSize: tileWidth) }
    /// Floats per tile (3 * tileHeight * tileWidth).
    public var tileLength: Int { 3 * tileHeight * tileWidth }
}
