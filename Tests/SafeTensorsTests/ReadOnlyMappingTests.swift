import Foundation
import Testing

@testable import SafeTensors

private let fixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/safetensors")

/// Weights are mapped read-only (issue 12): a write through the mapping faults instead of
/// silently making a private copy of a shared page.
@Suite struct ReadOnlyMappingTests {
    @Test func checkpointMappingIsReadOnlyAndPrivate() throws {
        let file = try SafeTensorsFile(path: fixtures.appendingPathComponent("dtypes.safetensors").path)
        let base = try #require(file.mapping.bytes.baseAddress)
        let permissions = try #require(mappingPermissions(containing: base), "the mapping is in /proc/self/maps")
        #expect(permissions == "r--p")
    }

    @Test func rangeMappingStartsAnywhereAndIsReadOnly() throws {
        let path = fixtures.appendingPathComponent("dtypes.safetensors").path
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let offset = 13  // not page aligned: the mapping starts at the page below
        let length = whole.count - offset - 5
        let range = try MappedFile(descriptor: fd, path: path, offset: offset, length: length)
        #expect(range.size == length)
        #expect(Data(range.bytes) == whole.subdata(in: offset..<(offset + length)))
        let base = try #require(range.bytes.baseAddress)
        #expect(mappingPermissions(containing: base) == "r--p", "\(base)")
    }

    @Test func emptyRangeMapsNothing() throws {
        let path = fixtures.appendingPathComponent("dtypes.safetensors").path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let empty = try MappedFile(descriptor: fd, path: path, offset: 0, length: 0)
        #expect(empty.bytes.isEmpty)
    }
}

/// The permission field ("r--p", "rw-p", ...) of the /proc/self/maps line covering `address`.
func mappingPermissions(containing address: UnsafeRawPointer) -> String? {
    // Read with stdio: /proc files report size 0, and one line per mapping is all that is needed.
    guard let stream = fopen("/proc/self/maps", "r") else { return nil }
    defer { fclose(stream) }
    let target = UInt(bitPattern: address)
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), stream) != nil {
        let line = String(cString: buffer)
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2 else { continue }
        let bounds = fields[0].split(separator: "-")
        guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16) else { continue }
        if start <= target && target < end { return String(fields[1]) }
    }
    return nil
}
