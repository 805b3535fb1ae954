import Foundation
import ProcessTestSupport
import Testing
import Torch

@testable import SafeTensors

/// Derived tensors packed once per machine into a file that every process maps read-only.
@Suite struct SharedTensorFileTests {
    private func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shared-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private static let names = ["a.panels", "b.panels", "c.table"]
    private static func value(_ name: String) throws -> Tensor {
        let seed = Float(names.firstIndex(of: name)! + 1)
        return try Tensor(floats: (0..<(3 * 64)).map { Float($0) * seed }, shape: [3, 4, 16])
    }

    /// Asks for every tensor; returns them and how many were derived.
    private func load(_ file: SharedTensorFile) throws -> ([Tensor], Int) {
        var derived = 0
        let tensors = try Self.names.map { name in
            try file.tensor(name, shape: [3, 4, 16], dtype: .float32) {
                derived += 1
                return try Self.value(name)
            }
        }
        file.finish()
        return (tensors, derived)
    }

    @Test func theFirstProcessWritesTheSecondOnlyMaps() throws {
        let directory = try folder()
        let first = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint A")
        let (written, derivedFirst) = try load(first)
        #expect(derivedFirst == 3)
        #expect(first.sharedCount == 3 && first.privateCount == 0, "\(first.summary)")
        #expect(first.summary.contains("written to"))
        for (tensor, name) in zip(written, Self.names) { #expect(try tensor.floats() == Self.value(name).floats()) }

        let second = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint A")
        let (mapped, derivedSecond) = try load(second)
        #expect(derivedSecond == 0, "nothing packed twice")
        #expect(second.summary.contains("mapped from"), "\(second.summary)")
        for (tensor, name) in zip(mapped, Self.names) { #expect(try tensor.floats() == Self.value(name).floats()) }

        // Both processes' tensors live in read-only mappings of the one file.
        for tensor in written + mapped {
            let address = try #require(tensor.withUnsafeBytes { $0.baseAddress } ?? nil)
            let line = try #require(mapsLine(containing: address))
            #expect(line.contains(" r--p "), "\(line)")
            #expect(line.hasSuffix(URL(fileURLWithPath: first.path).lastPathComponent), "\(line)")
        }
        // A valid safetensors file with the identity recorded.
        let file = try SafeTensorsFile(path: first.path)
        #expect(file.metadata["identity"] == "checkpoint A")
        #expect(Set(file.names) == Set(Self.names))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func anotherCheckpointReplacesTheFile() throws {
        let directory = try folder()
        let old = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint A")
        _ = try load(old)
        let new = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint B")
        #expect(new.path != old.path)
        let (_, derived) = try load(new)
        #expect(derived == 3, "a changed checkpoint is packed again")
        #expect(!FileManager.default.fileExists(atPath: old.path), "the stale file is removed")
        #expect(FileManager.default.fileExists(atPath: new.path))
    }

    @Test func aDamagedFileIsRewritten() throws {
        let directory = try folder()
        let first = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint A")
        _ = try load(first)
        let whole = try Data(contentsOf: URL(fileURLWithPath: first.path))
        try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: first.path))
        let again = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint A")
        let (tensors, derived) = try load(again)
        #expect(derived == 3)
        #expect(try tensors[2].floats() == Self.value(Self.names[2]).floats())
    }

    @Test func aSecondOpenerWaitsForTheWriter() async throws {
        let directory = try folder()
        let writer = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint A")
        let opened = Flag()
        let waiter = Thread {
            let reader = SharedTensorFile(directory: directory, baseName: "derived", identity: "checkpoint A")
            opened.set(reader)
        }
        waiter.start()
        try await Task.sleep(for: .milliseconds(300))
        #expect(opened.reader == nil, "the lock holds the second opener while the first writes")
        _ = try load(writer)
        var reader: SharedTensorFile?
        for _ in 0..<100 where reader == nil {
            try await Task.sleep(for: .milliseconds(50))
            reader = opened.reader
        }
        let second = try #require(reader)
        let (_, derived) = try load(second)
        #expect(derived == 0)
    }

    @Test func anUnwritableDirectoryLeavesPrivateCopies() throws {
        let file = SharedTensorFile(directory: URL(fileURLWithPath: "/dev/null/weights"), baseName: "derived", identity: "x")
        let (tensors, derived) = try load(file)
        #expect(derived == 3)
        #expect(file.privateCount == 3 && file.sharedCount == 0)
        #expect(file.summary.contains("private"))
        #expect(try tensors[0].floats() == Self.value(Self.names[0]).floats())
    }

    @Test func aDerivedTensorOfTheWrongShapeIsAnError() throws {
        let file = SharedTensorFile(directory: try folder(), baseName: "derived", identity: "x")
        #expect(throws: SafeTensorsError.self) {
            try file.tensor("w", shape: [2, 2], dtype: .float32) { try Tensor(floats: [1, 2, 3], shape: [3]) }
        }
    }
}

private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value: SharedTensorFile?
    func set(_ reader: SharedTensorFile) { lock.withLock { value = reader } }
    var reader: SharedTensorFile? { lock.withLock { value } }
}
