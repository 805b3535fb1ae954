import Foundation
import Testing

@testable import Hub

/// End-to-end downloads from the mock hub into an empty cache.
@Suite struct DownloadTests {
    @Test func downloadsTheNeededFilesIntoTheCacheLayout() throws {
        let scenario = try Scenario.tiny()
        let commit = scenario.commit("test/tiny")
        let folder = try scenario.client().ensureModel(id: "test/tiny", revision: "main", observer: scenario.recorder.observer)

        let repoFolder = scenario.repoFolder("test/tiny")
        #expect(folder.standardizedFileURL == repoFolder.appendingPathComponent("snapshots/\(commit)").standardizedFileURL)
        let files = try readSnapshot(folder)
        #expect(Set(files.keys) == RepoFixture.singleWeightsNeeded)
        for name in RepoFixture.singleWeightsNeeded {
            #expect(files[name] == (try scenario.source("test/tiny", name)), "content of \(name)")
            // Relative symlink to the blob named by its etag (sha256 for LFS, git sha1 otherwise).
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent(name).path)
            #expect(target == "../../blobs/\(scenario.etag("test/tiny", name))", "symlink of \(name)")
        }
        #expect(scenario.etag("test/tiny", "model.safetensors").count == 64)
        #expect(scenario.etag("test/tiny", "config.json").count == 40)
        #expect(try String(contentsOf: repoFolder.appendingPathComponent("refs/main"), encoding: .utf8) == commit)
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repoFolder.appendingPathComponent("blobs").path)
        #expect(blobs.count == RepoFixture.singleWeightsNeeded.count)
        #expect(!blobs.contains { $0.hasSuffix(".incomplete") })
        #expect(FileManager.default.fileExists(atPath: scenario.cache.appendingPathComponent("CACHEDIR.TAG").path))

        let requests = try scenario.hub.requests()
        // Files the service does not need are never requested.
        for skipped in RepoFixture.notNeeded {
            #expect(!requests.contains { $0.path.contains(skipped) }, "\(skipped) was requested")
        }
        // The LFS weights came from the second host:port after the hub's redirect.
        let weightGets = try scenario.hub.cdnGets(sha: scenario.etag("test/tiny", "model.safetensors"))
        #expect(weightGets.count == 1)
        #expect(weightGets.first?.status == 200)
        #expect(!requests.contains { $0.server == "hub" && $0.method == "GET" && $0.path.hasSuffix("model.safetensors") })

        // Progress: resolving first, ready last, a complete downloading state in between.
        let progress = scenario.recorder.progress
        #expect(progress.first?.phase == .resolving)
        #expect(progress.last?.phase == .ready)
        let totals = progress.filter { $0.phase == .downloading }
        let expectedTotal = try RepoFixture.singleWeightsNeeded.reduce(Int64(0)) {
            $0 + Int64(try scenario.source("test/tiny", $1).count)
        }
        #expect(totals.allSatisfy { $0.totalBytes == expectedTotal })
        #expect(totals.contains { $0.completedBytes == expectedTotal })
        #expect(zip(totals, totals.dropFirst()).allSatisfy { $0.completedBytes <= $1.completedBytes })
        // Log lines go through swift-log with the repository as metadata.
        #expect(scenario.recorder.metadata.contains { $0["hub.repo"] == "test/tiny" })
    }

    @Test func aSecondRunDownloadsNothing() throws {
        let scenario = try Scenario.tiny()
        let first = try scenario.client().ensureModel(id: "test/tiny")
        let before = try scenario.hub.requests().count
        let second = try scenario.client().ensureModel(id: "test/tiny")
        #expect(first == second)
        let after = try scenario.hub.requests().dropFirst(before)
        // Only the revision lookup: no HEAD, no file GET, nothing from the CDN.
        #expect(after.count == 1)
        #expect(after.first?.path == "/api/models/test/tiny/revision/main")
    }

    @Test func shardedWeightsFollowTheIndex() throws {
        let scenario = try Scenario(["org/sharded": ({ try RepoFixture.sharded(at: $0) }, nil, [:])])
        let folder = try scenario.client().ensureModel(id: "org/sharded", revision: scenario.commit("org/sharded"))
        let files = try readSnapshot(folder)
        let expected: Set<String> = [
            "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "preprocessor_config.json", "processor_config.json", "model.safetensors.index.json",
            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        ]
        #expect(Set(files.keys) == expected)
        for name in expected { #expect(files[name] == (try scenario.source("org/sharded", name))) }
        let requests = try scenario.hub.requests()
        #expect(!requests.contains { $0.path.contains("model-stale") })
        #expect(try scenario.hub.cdnGets(sha: scenario.etag("org/sharded", "model-stale.safetensors")).isEmpty)
        // A commit hash as revision needs no refs/ entry.
        #expect(!FileManager.default.fileExists(atPath: scenario.repoFolder("org/sharded").appendingPathComponent("refs").path))
    }

    @Test func largeFilesLogBytesRateAndETA() throws {
        // Throttled to about 6 MB/s so that a 3 MB file takes ~0.5 s and logs on the way.
        let scenario = try Scenario.tiny(faults: ["model.safetensors": .init(throttle: 6_000_000)])
        _ = try scenario.client().ensureModel(id: "test/tiny", observer: scenario.recorder.observer)
        let lines = scenario.recorder.logLines.filter { $0.hasPrefix("model.safetensors: ") }
        #expect(lines.count >= 2, "progress lines: \(scenario.recorder.logLines)")
        let sample = try #require(lines.first)
        #expect(sample.contains(" / 3.0 MB ("))
        #expect(sample.contains("/s, ETA "))
        #expect(scenario.recorder.logLines.contains { $0.hasPrefix("Downloaded model.safetensors (3.0 MB) in ") })
        let midway = scenario.recorder.progress.filter {
            $0.phase == .downloading && ($0.fractionCompleted ?? 0) > 0.05 && ($0.fractionCompleted ?? 1) < 0.95
        }
        #expect(!midway.isEmpty)
        #expect(midway.first?.summary.hasPrefix("downloading ") == true)
        #expect(midway.first?.summary.contains("%") == true)
    }

    @Test func asyncVariantReturnsTheSameFolder() async throws {
        let scenario = try Scenario.tiny()
        let folder = try await scenario.client().ensureModel(id: "test/tiny", revision: "main", observer: nil)
        #expect(folder.lastPathComponent == scenario.commit("test/tiny"))
        #expect(try readSnapshot(folder)["model.safetensors"] == (try scenario.source("test/tiny", "model.safetensors")))
    }

    @Test func aLocalDirectoryIsUsedAsIs() throws {
        let temp = try TemporaryDirectory()
        try RepoFixture.single(at: temp.url, weightBytes: 1000)
        let client = HubClient(configuration: testConfiguration(endpoint: "http://127.0.0.1:1", cache: temp.path("cache")))
        let folder = try client.ensureModel(id: temp.url.path)
        #expect(folder.standardizedFileURL.path == temp.url.standardizedFileURL.path)
        #expect(!FileManager.default.fileExists(atPath: temp.path("cache").path))
        #expect(throws: HubError.localDirectoryNotFound(temp.url.path + "/missing")) {
            try client.ensureModel(id: temp.url.path + "/missing")
        }
    }
}
