import Foundation
import Glibc

/// The /proc/self/maps line covering `address` (address range, permissions, offset, device,
/// inode, path), without its newline; nil when no mapping covers it. Read with stdio: /proc
/// files report size 0, and one line per mapping is all that is needed.
public func mapsLine(containing address: UnsafeRawPointer) -> String? {
    guard let stream = fopen("/proc/self/maps", "r") else { return nil }
    defer { fclose(stream) }
    let target = UInt(bitPattern: address)
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), stream) != nil {
        let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let line = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .newlines)
        let bounds = line.prefix { $0 != " " }.split(separator: "-")
        guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16) else { continue }
        if start <= target && target < end { return line }
    }
    return nil
}
