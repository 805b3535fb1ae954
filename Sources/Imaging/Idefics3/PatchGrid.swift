/// The token grid of the tiles an image of a given size is cut into, as the
/// `/patches` endpoint reports it: x follows the width, y the height.
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
