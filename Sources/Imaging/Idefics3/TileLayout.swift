/// The tile grid of one image, the one type for it: `rows` x `cols` square tiles of `tileSize`
/// plus the global view (the whole image downscaled to one tile), or the global view alone
/// (`rows == cols == 0`, not split). The image processor reports it (`Idefics3ImageProcessor.layout`
/// predicts it from the size alone), the prompt builder expands it into `<row_R_col_C>` tokens,
/// and the heatmap lays its scores out on it. The model needs only the tile count, which is the
/// first size of the tiles tensor.
public struct TileLayout: Sendable, Hashable, CustomStringConvertible {
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

    /// The global view alone.
    public static func unsplit(tileSize: Int) -> TileLayout { TileLayout(rows: 0, cols: 0, tileSize: tileSize) }

    /// Non-negative counts, both zero or both positive, and a positive tile size.
    public var isValid: Bool { rows >= 0 && cols >= 0 && (rows == 0) == (cols == 0) && tileSize > 0 }
    public var isSplit: Bool { rows > 0 }
    /// rows x cols split tiles plus the global tile, or just the global tile: the views the
    /// vision tower encodes.
    public var tileCount: Int { rows == 0 ? 1 : rows * cols + 1 }
    /// [tileCount, 3, tileSize, tileSize]: the pixel values' shape, channels first.
    public var shape: [Int] { [tileCount, 3, tileSize, tileSize] }
    /// Floats for all tiles: tileCount x 3 x tileSize x tileSize.
    public var valueCount: Int { tileCount * 3 * tileSize * tileSize }

    public var description: String { isSplit ? "\(rows)x\(cols)" : "unsplit" }
}

/// The token grid over the tiles of an image of a given size, as the `/patches` endpoint reports
/// it: x follows the width, y the height. API.md fixes its arithmetic (`ceil` of the resized sides
/// over the tile size), which equals `TileLayout`'s columns and rows times `sqrt(image_seq_len)` for
/// the published geometry but not for every configuration (splitting off, or a longest edge that is
/// not a multiple of the tile size), so it is computed here beside the layout rather than from it.
public struct PatchGrid: Sendable, Equatable {
    public let patchesX: Int
    public let patchesY: Int

    public init(patchesX: Int, patchesY: Int) {
        self.patchesX = patchesX
        self.patchesY = patchesY
    }

    /// Why a grid cannot be computed.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// Width or height is zero or negative.
        case invalidDimensions(width: Int, height: Int)
        /// `image_seq_len` is not a positive perfect square, so tokens do not form a square grid per tile.
        case invalidImageSeqLen(Int)

        public var description: String {
            switch self {
            case .invalidDimensions(let width, let height):
                return "width and height must be positive integers (got \(width)x\(height))"
            case .invalidImageSeqLen(let length):
                return "image_seq_len \(length) is not a perfect square"
            }
        }
    }

    /// Resize so the longest edge is `config.longestEdge` (aspect kept, the other
    /// edge truncated and bumped to even), then `ceil(side / tileSize)` tiles per
    /// axis times `sqrt(imageSeqLen)` tokens per tile side.
    public static func compute(width: Int, height: Int, config: Idefics3ProcessorConfig, imageSeqLen: Int)
        throws(Failure) -> PatchGrid
    {
        guard width > 0, height > 0 else { throw .invalidDimensions(width: width, height: height) }
        let side = Int(Double(imageSeqLen).squareRoot())
        guard imageSeqLen > 0, side * side == imageSeqLen else { throw .invalidImageSeqLen(imageSeqLen) }
        let resized = Idefics3Geometry.resizedSize(height: height, width: width, longestEdge: config.longestEdge)
        let tile = config.tileSize
        let tilesX = (resized.width + tile - 1) / tile
        let tilesY = (resized.height + tile - 1) / tile
        return PatchGrid(patchesX: tilesX * side, patchesY: tilesY * side)
    }
}
