import Imaging

extension ImageGrid {
    /// The tile grid of an image the Idefics3 image processor prepared.
    public init(_ image: ProcessedImage) throws {
        try self.init(rows: image.rows, cols: image.cols)
    }
}
