import Foundation
import ProcessTestSupport
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
    mapsLine(containing: address)?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
}
