/// Several processed images stacked for one forward pass, padded as the reference
/// pads them: every image gets `maxTiles` tiles, the missing ones all zeros.
///
/// The reference also returns `pixel_attention_mask` [images, maxTiles, H, W];
/// since every real tile is a full tile, that mask is all ones on real tiles and
/// all zeros on padding tiles, which is what `tileMask` says per tile. The model
/// drops padding tiles by testing for all-zero tiles; no real tile is all zeros
/// after normalisation with mean 0.5 (no byte maps to exactly 0).
public struct PixelBatch: Sendable, Equatable {
    /// [images, maxTiles, 3, tileHeight, tileWidth].
    public let pixelValues: [Float]
    /// Real tiles per image, in order.
    public let tileCounts: [Int]
    public let maxTiles: Int
    public let tileHeight: Int
    public let tileWidth: Int

    public var shape: [Int] { [tileCounts.count, maxTiles, 3, tileHeight, tileWidth] }

    /// [images * maxTiles]: true for real tiles, false for padding.
    public var tileMask: [Bool] {
        tileCounts.flatMap { count in (0..<maxTiles).map { $0 < count } }
    }

    /// Why images cannot be batched.
    public enum Failure: Error, Equatable, Sendable {
        case empty
        /// Images processed with different tile sizes.
        case mixedTileSizes
    }

    public init(_ images: [ProcessedImage]) throws(Failure) {
        guard let first = images.first else { throw .empty }
        guard images.allSatisfy({ $0.tileHeight == first.tileHeight && $0.tileWidth == first.tileWidth }) else {
            throw .mixedTileSizes
        }
        let maxTiles = images.map(\.tileCount).max() ?? 0
        let tileLength = first.tileLength
        var values = [Float](repeating: 0, count: images.count * maxTiles * tileLength)
        values.withUnsafeMutableBufferPointer { target in
            for (index, image) in images.enumerated() {
                image.pixelValues.withUnsafeBufferPointer { source in
                    let start = target.baseAddress! + index * maxTiles * tileLength
                    start.update(from: source.baseAddress!, count: source.count)
                }
            }
        }
        self.pixelValues = values
        self.tileCounts = images.map(\.tileCount)
        self.maxTiles = maxTiles
        self.tileHeight = first.tileHeight
        self.tileWidth = first.tileWidth
    }
}
