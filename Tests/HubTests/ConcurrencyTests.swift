import Foundation
import Testing

@testable import Hub

/// Two downloaders starting together on one cache fetch every file once.
@Suite struct ConcurrencyTests {
    @Test func twoDownloadersFetchEachFileOnce() throws {
        // Throttled weights (~0.5 s) so the second downloader arrives mid-transfer.
        let scenario = try Scenario.tiny(faults: ["model.safetensors": .init(throttle: 6_000_000)])
        let recorders = [Recorder(), Recorder()]
        let results = ResultBox()
        let group = DispatchGroup()
        for recorder in recorders {
            let client = HubClient(
                configuration: testConfiguration(endpoint: scenario.hub.endpoint, cache: scenario.cache),
                logger: recorder.logger)
            group.enter()
            Thread.detachNewThread {
                results.append(Result { try client.ensureModel(id: "test/tiny") })
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        let folders = try results.values.map { try $0.get() }
        #expect(folders.count == 2)
        #expect(Set(folders).count == 1)

        let files = try readSnapshot(try #require(folders.first))
        for name in RepoFixture.singleWeightsNeeded {
            #expect(files[name] == (try scenario.source("test/tiny", name)))
        }
        // Each file's bytes were served exactly once.
        let transfers = try scenario.hub.requests().filter { $0.method == "GET" && !$0.path.hasPrefix("/api/") }
        #expect(transfers.count == RepoFixture.singleWeightsNeeded.count, "\(transfers.map(\.path))")
        #expect(Set(transfers.map(\.path)).count == transfers.count)
        // And one of them really waited for the other's lock on the weights.
        let waited = recorders.flatMap(\.logLines).filter { $0.hasPrefix("Waiting for another process") }
        #expect(waited.contains { $0.contains("model.safetensors") }, "\(recorders.flatMap(\.logLines))")
    }

    @Test func theLockExcludesASecondHolderUntilReleased() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("locks/x.lock")
        let first = FileLock(path: path)
        let second = FileLock(path: path)
        #expect(try first.tryLock())
        #expect(try !second.tryLock())
        first.unlock()
        #expect(try second.tryLock())
        #expect(try !first.tryLock())
        second.unlock()

        // A waiting holder gives up when cancelled.
        #expect(try first.tryLock())
        let flag = CancellationFlag()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { flag.cancel() }
        var waitedOnce = false
        #expect(throws: HubError.cancelled) {
            try second.lock(pollInterval: 0.01, cancellation: flag) { waitedOnce = true }
        }
        #expect(waitedOnce)
    }
}

/// Thread-safe collection of results from worker threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<URL, any Error>] = []

    func append(_ result: Result<URL, any Error>) { lock.withLock { results.append(result) } }
    var values: [Result<URL, any Error>] { lock.withLock { results } }
}
