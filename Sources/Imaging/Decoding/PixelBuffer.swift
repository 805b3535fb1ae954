import Foundation

/// Pixel bytes as a C decoder allocated them (`malloc` in CImageCodecs), owned here and
/// freed once. Handing the decoder's buffer over instead of copying it into a Swift
/// array saves a full copy per image: for a large RGBA page that is ~1 GB of transient
/// memory and the time to fill it.
///
/// Immutable after creation, hence `Sendable`; reads go through `withUnsafeBufferPointer`
/// or the `RandomAccessCollection` conformance.
public final class PixelBuffer: @unchecked Sendable, RandomAccessCollection, Equatable {
    private let base: UnsafeMutablePointer<UInt8>
    public let count: Int

    /// Takes ownership of `pointer` (from `malloc`, `count` bytes); `free` releases it.
    init(taking pointer: UnsafeMutablePointer<UInt8>, count: Int) {
        base = pointer
        self.count = count
    }

    /// A copy of `bytes` (tests and synthetic images).
    convenience init(copying bytes: [UInt8]) {
        let pointer = malloc(Swift.max(bytes.count, 1))!.assumingMemoryBound(to: UInt8.self)
        bytes.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { pointer.update(from: start, count: source.count) }
        }
        self.init(taking: pointer, count: bytes.count)
    }

    deinit { free(base) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "pixel byte index out of range")
        return base[position]
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    public static func == (lhs: PixelBuffer, rhs: PixelBuffer) -> Bool {
        lhs === rhs || (lhs.count == rhs.count && memcmp(lhs.base, rhs.base, lhs.count) == 0)
    }
}
