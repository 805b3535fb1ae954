/// Float memory that the image processor writes the tiles into and that the model's tensor is
/// then made from in place (`Tensor.fromBlob` with this object as the owner), so a page's pixels
/// are written once and never copied on their way to the vision tower (~53 MB for a 17-tile page
/// at 512 px).
///
/// Written once, by `ImagePreprocessor`, before the value is shared; read-only afterwards, which
/// is what makes it `Sendable`.
public final class PixelMemory: @unchecked Sendable {
    /// libtorch's CPU allocator aligns to 64 bytes; the same here keeps the vision tower's first
    /// reads exactly as they were on memory libtorch allocated.
    public static let alignment = 64

    /// Number of floats.
    public let count: Int
    private let base: UnsafeMutablePointer<Float>

    /// `count` floats, uninitialised.
    init(count: Int) {
        precondition(count > 0, "PixelMemory: no floats to hold")
        self.count = count
        base = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: Self.alignment)
            .bindMemory(to: Float.self, capacity: count)
    }

    deinit {
        base.deallocate()
    }

    /// The floats, for reading (and for wrapping into a tensor that keeps `self` alive).
    public var values: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: base, count: count) }

    /// Where the image processor writes.
    var writable: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
}
