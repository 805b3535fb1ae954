/// How an image was cut into tiles: `rows` x `cols` tiles plus a global view, or no split
/// at all (`rows == 0 && cols == 0`, the global view only), as the image processor reports.
public struct ImageGrid: Sendable, Hashable, CustomStringConvertible {
    public let rows: Int
    public let cols: Int

    /// An image that was not split: only the global view.
    public static let unsplit = ImageGrid(checkedRows: 0, cols: 0)

    public init(rows: Int, cols: Int) throws {
        guard rows >= 0, cols >= 0, (rows == 0) == (cols == 0) else {
            throw ProcessingError.invalidGrid(rows: rows, cols: cols)
        }
        self.init(checkedRows: rows, cols: cols)
    }

    private init(checkedRows rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
    }

    public var isSplit: Bool { rows > 0 }

    /// Number of views the vision tower encodes: the tiles plus the global view.
    public var viewCount: Int { rows * cols + 1 }

    public var description: String { isSplit ? "\(rows)x\(cols)" : "unsplit" }
}
