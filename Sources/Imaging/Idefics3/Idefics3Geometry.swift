/// The size arithmetic of transformers' Idefics3 image processor, with Python's
/// float-then-truncate semantics (`int(width / aspect_ratio)`), shared by the
/// processor and the `/patches` endpoint.
public enum Idefics3Geometry {
    /// transformers' absolute cap on either side after the first resize.
    public static let maxImageSide = 4096

    /// Size after the first resize: the longest side becomes `longestEdge`, the
    /// other keeps the aspect ratio, truncated, then bumped to even; then both are
    /// scaled below `maxImageSide`. Sides are at least 1.
    public static func resizedSize(height: Int, width: Int, longestEdge: Int) -> (height: Int, width: Int) {
        var (height, width) = (height, width)
        let aspect = Double(width) / Double(height)
        if width >= height {
            width = longestEdge
            height = Int(Double(width) / aspect)
            if height % 2 != 0 { height += 1 }
        } else {
            height = longestEdge
            width = Int(Double(height) * aspect)
            if width % 2 != 0 { width += 1 }
        }
        height = max(height, 1)
        width = max(width, 1)
        return scaledBelowUpperBound(height: height, width: width, bound: maxImageSide)
    }

    static func scaledBelowUpperBound(height: Int, width: Int, bound: Int) -> (height: Int, width: Int) {
        var (height, width) = (height, width)
        let aspect = Double(width) / Double(height)
        if width >= height && width > bound {
            width = bound
            height = Int(Double(width) / aspect)
        } else if height > width && height > bound {
            height = bound
            width = Int(Double(height) * aspect)
        }
        return (max(height, 1), max(width, 1))
    }

    /// Size after `resize_for_vision_encoder`: both sides rounded up to multiples
    /// of `tileSize` (the shorter one recomputed from the aspect ratio first).
    public static func visionEncoderSize(height: Int, width: Int, tileSize: Int) -> (height: Int, width: Int) {
        let aspect = Double(width) / Double(height)
        func roundUp(_ value: Int) -> Int { (value + tileSize - 1) / tileSize * tileSize }
        if width >= height {
            let newWidth = roundUp(width)
            let newHeight = roundUp(Int(Double(newWidth) / aspect))
            return (newHeight, newWidth)
        } else {
            let newHeight = roundUp(height)
            let newWidth = roundUp(Int(Double(newHeight) * aspect))
            return (newHeight, newWidth)
        }
    }

    /// Rows and columns of tiles cut from an image of this size (already a
    /// multiple of `tileSize`); (0, 0) when it is a single tile and is not split.
    public static func tileGrid(height: Int, width: Int, tileSize: Int) -> (rows: Int, cols: Int) {
        guard height > tileSize || width > tileSize else { return (0, 0) }
        return ((height - tileSize) / tileSize + 1, (width - tileSize) / tileSize + 1)
    }
}
