import Foundation
import Testing

@testable import Hub

/// Broken connections, transient errors, corrupt blobs and a full disk.
@Suite struct FaultTests {
    static let weights = "model.safetensors"

    @Test func aDroppedConnectionResumesWithRange() throws {
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(drop_after: 1_000_000)])
        let folder = try scenario.client().ensureModel(id: "test/tiny")
        let source = try scenario.source("test/tiny", Self.weights)
        #expect(try Data(contentsOf: folder.appendingPathComponent(Self.weights)) == source)

        let gets = try scenario.hub.cdnGets(sha: scenario.etag("test/tiny", Self.weights))
        #expect(gets.count == 2)
        #expect(gets.first?.range == nil)
        #expect(gets.first?.sent == 1_000_000)
        #expect(gets.last?.range == "bytes=1000000-")
        #expect(gets.last?.status == 206)
        // Resumed, not restarted: every byte crossed the wire exactly once.
        #expect(gets.reduce(0) { $0 + $1.sent } == source.count)
        #expect(scenario.recorder.warnings.contains { $0.contains("resuming") })
    }

    @Test func aPartialFileFromAnEarlierRunIsResumed() throws {
        let scenario = try Scenario.tiny()
        let sha = scenario.etag("test/tiny", Self.weights)
        let source = try scenario.source("test/tiny", Self.weights)
        let blobs = scenario.repoFolder("test/tiny").appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try source.prefix(700_000).write(to: blobs.appendingPathComponent("\(sha).incomplete"))

        let folder = try scenario.client().ensureModel(id: "test/tiny")
        #expect(try Data(contentsOf: folder.appendingPathComponent(Self.weights)) == source)
        let gets = try scenario.hub.cdnGets(sha: sha)
        #expect(gets.count == 1)
        #expect(gets.first?.range == "bytes=700000-")
        #expect(gets.first?.sent == source.count - 700_000)
        #expect(!FileManager.default.fileExists(atPath: blobs.appendingPathComponent("\(sha).incomplete").path))
    }

    @Test func transientFailuresAreRetriedWithBackoff() throws {
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(fail_times: 2, fail_status: 503)], apiFailTimes: 1)
        let folder = try scenario.client().ensureModel(id: "test/tiny")
        #expect(try Data(contentsOf: folder.appendingPathComponent(Self.weights)) == (try scenario.source("test/tiny", Self.weights)))
        let gets = try scenario.hub.cdnGets(sha: scenario.etag("test/tiny", Self.weights))
        #expect(gets.map(\.status) == [503, 503, 200])
        let apiCalls = try scenario.hub.requests().filter { $0.path.hasPrefix("/api/models/") }
        #expect(apiCalls.map(\.status) == [503, 200])
        #expect(scenario.recorder.warnings.filter { $0.contains("HTTP 503") }.count == 3)
    }

    @Test func aBlobWithAWrongChecksumIsRejectedAndNotStored() throws {
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(corrupt: true)])
        let sha = scenario.etag("test/tiny", Self.weights)
        do {
            _ = try scenario.client().ensureModel(id: "test/tiny")
            Issue.record("a corrupt blob was accepted")
        } catch let HubError.checksumMismatch(file, expected, actual) {
            #expect(file == Self.weights)
            #expect(expected == sha)
            #expect(actual != sha && actual.count == 64)
        }
        let repo = scenario.repoFolder("test/tiny")
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("blobs").path)) ?? []
        #expect(!blobs.contains { $0.hasPrefix(sha) }, "blob or partial kept: \(blobs)")
        let pointer = repo.appendingPathComponent("snapshots/\(scenario.commit("test/tiny"))/\(Self.weights)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: pointer.path)) == nil)
        #expect(!FileManager.default.fileExists(atPath: repo.appendingPathComponent("refs/main").path))
        // One fresh retry after the first mismatch, then the error.
        #expect(try scenario.hub.cdnGets(sha: sha).count == 2)
        #expect(HubError.checksumMismatch(file: "f", expected: "a", actual: "b").description.contains("discarded"))
    }

    @Test func notEnoughDiskSpaceFailsBeforeDownloading() throws {
        // The hub announces a 1 EB file: no volume has that much room.
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(advertise_size: 1 << 60)])
        do {
            _ = try scenario.client().ensureModel(id: "test/tiny")
            Issue.record("no disk-space error")
        } catch let error as HubError {
            guard case .diskFull(let directory, let needed, let available) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(directory.hasSuffix("models--test--tiny/blobs"))
            #expect(needed == 1 << 60)
            #expect((available ?? 0) > 0)
            #expect(error.description.contains("HF_HOME"))
        }
        #expect(try scenario.hub.cdnGets(sha: scenario.etag("test/tiny", Self.weights)).isEmpty)
    }

    @Test func cancellationStopsADownloadAndKeepsItResumable() throws {
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(throttle: 2_000_000)])
        let client = scenario.client()
        let flag = CancellationFlag()
        let outcome = ResultBox()
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            outcome.append(Result { try client.ensureModel(id: "test/tiny", cancellation: flag) })
            finished.signal()
        }
        // Wait until the weights transfer is under way, then cancel.
        let sha = scenario.etag("test/tiny", Self.weights)
        let partial = scenario.repoFolder("test/tiny").appendingPathComponent("blobs/\(sha).incomplete")
        let deadline = Date().addingTimeInterval(20)
        while (FileSystem.fileSize(partial) ?? 0) < 200_000, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        flag.cancel()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        #expect(throws: HubError.cancelled) { try outcome.values.first?.get() }
        let kept = FileSystem.fileSize(partial) ?? 0
        #expect(kept >= 200_000 && kept < 3_000_000)

        // The next run resumes from what was kept.
        let folder = try scenario.client().ensureModel(id: "test/tiny")
        #expect(try Data(contentsOf: folder.appendingPathComponent(Self.weights)) == (try scenario.source("test/tiny", Self.weights)))
        #expect(try scenario.hub.cdnGets(sha: sha).contains { $0.range == "bytes=\(kept)-" && $0.status == 206 })
    }

    @Test func cancellingTheTaskCancelsTheDownload() async throws {
        let scenario = try Scenario.tiny()
        let client = scenario.client()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.ensureModel(id: "test/tiny", revision: "main", observer: nil)
        }
        await #expect(throws: HubError.cancelled) { try await task.value }
        #expect(try scenario.hub.requests().isEmpty)
    }
}
