import Foundation
import Glibc
import Testing
import WorkerPool

@testable import EmbeddingService

/// The master's warm-up document in a `StateFile`, as the workers read it (moved from
/// WorkerPoolTests with `WarmupStatus`).
@Suite struct WarmupStatusTests {
    @Test func writesAndReadsWarmupStatus() throws {
        let directory = try StateDirectory()
        let file = StateFile(directory: directory.file("state"), name: "warmup.json")
        #expect(try file.read(WarmupStatus.self) == nil, "nothing written yet")
        let downloading = WarmupStatus(phase: .downloading, message: "downloading model 43%", progress: 0.43)
        try file.write(downloading)
        #expect(try file.read(WarmupStatus.self) == downloading)
        let ready = WarmupStatus(phase: .ready, message: "ready")
        try file.write(ready)
        let read = try #require(try file.read(WarmupStatus.self))
        #expect(read == ready && read.isReady)
        #expect(read.pid == getpid())

        // The on-disk document is plain JSON with stable keys, readable by any process.
        let data = try #require(FileManager.default.contents(atPath: file.path))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["phase", "message", "pid", "updated_at"])
        #expect(object["phase"] as? String == "ready")
        // No temporary files left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("state"))
        #expect(names == ["warmup.json"])
        file.remove()
        #expect(try file.read(WarmupStatus.self) == nil)
    }

    @Test func clampsProgress() {
        #expect(WarmupStatus(phase: .loading, message: "", progress: 1.7).progress == 1)
        #expect(WarmupStatus(phase: .loading, message: "", progress: -1).progress == 0)
    }

    @Test func corruptDocumentIsADecodingError() throws {
        let directory = try StateDirectory()
        let file = StateFile(directory: directory.path, name: "s.json")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data("{not json".utf8)))
        #expect {
            try file.read(WarmupStatus.self)
        } throws: { error in
            if case StateFileError.decoding(let path, _) = error { return path == file.path }
            return false
        }
    }

    @Test func carriesTheModelDirectoryOnceReady() throws {
        let directory = try StateDirectory()
        let file = StateFile(directory: directory.path, name: "state.json")
        try file.write(WarmupStatus(phase: .ready, message: "model files ready", progress: 1, modelDirectory: "/models/tiny"))
        let read = try #require(try file.read(WarmupStatus.self))
        #expect(read.modelDirectory == "/models/tiny" && read.isReady)
        let data = try #require(FileManager.default.contents(atPath: file.path))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["model_directory"] as? String == "/models/tiny")
    }
}

/// A private temporary directory, removed when the last reference goes.
final class StateDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/est.XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(result.map { String(cString: $0) })
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }
}
