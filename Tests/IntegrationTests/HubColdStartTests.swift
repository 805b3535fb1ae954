import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// Issue 6's "Done when": `serve` on an empty HF_HOME pointed at a hub (the mock hub serving
/// the tiny model as org/tiny) downloads the model once, answers 503 on /health while it
/// does, serves, and starts again offline from the cache.
@Suite(.timeLimit(.minutes(3)))
struct HubColdStartTests {
    @Test func coldStartDownloadsOnceThenServesOfflineFromTheCache() async throws {
        let reference = try Reference.load()
        let directory = try TestDirectory()
        // The weights come slowly (about 25 s), so that the warming state can be seen even when
        // the workers and nginx are slow to start (debug build, a machine busy with other suites:
        // at 7.5 s, one CI-like run saw nginx listen only after the download had finished).
        let hub = try await MockHub(
            directory: directory,
            repos: [
                "org/tiny": ["dir": Paths.tinyModel, "faults": ["model.safetensors": ["throttle": 30_000]]]
            ])
        defer { hub.process.terminate() }
        let hubSettings = [
            "COLPALI_MODEL_ID": "org/tiny", "HF_ENDPOINT": "http://127.0.0.1:\(hub.port)",
            "COLPALI_HTTPS_PORT": "off",
        ]
        let cache = directory.file("hf-home/hub/models--org--tiny")
        #expect(!FileManager.default.fileExists(atPath: directory.file("hf-home")), "HF_HOME starts empty")

        // First start: downloads.
        let first = try ServiceInstance(workers: 2, https: false, overrides: hubSettings, directory: directory)
        defer { first.terminate() }
        var seen: [(status: Int, state: String)] = []
        try await eventuallyAsync(timeout: 90, interval: .milliseconds(100), "/health to become 200:\n\(first.log.suffix(3000))") {
            if first.master.hasExited || first.nginx?.hasExited == true { throw StartFailed(instance: first) }
            guard first.nginxListens, let answer = try? await first.http.get("/health") else { return false }
            seen.append((answer.status, answer.object?["status"] as? String ?? answer.text))
            return answer.status == 200
        }
        let warming = seen.filter { $0.status == 503 }
        report(
            "hub cold start: /health answers while warming \(Set(warming.map(\.state)).sorted()), then \(seen.last.map { "\($0.status) \($0.state)" } ?? "-") after \(seen.count) polls"
        )
        #expect(warming.contains { $0.state == "downloading" }, "503 with status downloading while the weights download: \(seen)")
        #expect(seen.allSatisfy { [200, 502, 503].contains($0.status) }, "\(seen)")
        #expect(seen.last?.state == "healthy")
        try await first.waitForReady()
        let info = try await first.http.get("/info")
        #expect(info.object?["model_id"] as? String == "org/tiny", "\(info)")
        try await expectQueryServed(first.http, reference)

        // Each file fetched once: every GET answered with a body (model info, the hub's small files,
        // the CDN's LFS blob) happened once, by the master; the workers found the files in the cache.
        let fetches = hub.requests.filter { ($0["method"] as? String) == "GET" && [200, 206].contains($0["status"] as? Int ?? 0) }
        let fetchedPaths = fetches.compactMap { $0["path"] as? String }
        var counts: [String: Int] = [:]
        for path in fetchedPaths { counts[path, default: 0] += 1 }
        report("hub cold start: \(fetches.count) GETs, each once: \(counts.keys.sorted())")
        #expect(counts.values.allSatisfy { $0 == 1 }, "each file fetched once: \(counts)")
        for file in ["config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"] {
            #expect(
                fetchedPaths.contains { $0.hasPrefix("/org/tiny/resolve/") && $0.hasSuffix("/\(file)") }, "\(file) fetched: \(fetchedPaths)"
            )
        }
        #expect(fetches.filter { ($0["server"] as? String) == "cdn" }.count == 1, "the weights (LFS) fetched once from the CDN: \(fetches)")
        // The cache is laid out like huggingface_hub's.
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: "\(cache)/snapshots")
        #expect(snapshots.count == 1)
        let snapshot = "\(cache)/snapshots/\(snapshots.first ?? "")"
        #expect(FileManager.default.fileExists(atPath: "\(snapshot)/model.safetensors"))
        #expect((try? String(contentsOfFile: "\(cache)/refs/main", encoding: .utf8)) == snapshots.first)

        let stopped = try await first.stop()
        #expect(stopped.master == "exit 0" && stopped.nginx == "exit 0", "\(stopped)")
        let requestsBefore = hub.requests.count
        try await hub.stop()

        // Second start: offline, the hub gone; served from the cache.
        let second = try await ServiceInstance.started(
            workers: 2, https: false, overrides: hubSettings.merging(["HF_HUB_OFFLINE": "1"]) { $1 }, directory: directory)
        defer { second.terminate() }
        let health = try await second.http.get("/health")
        #expect(health.status == 200 && health.object?["status"] as? String == "healthy", "\(health)")
        try await expectQueryServed(second.http, reference)
        #expect(second.log.contains("(offline)"), "\(second.log.prefix(2000))")
        #expect(hub.requests.count == requestsBefore)
        let stoppedAgain = try await second.stop()
        #expect(stoppedAgain.master == "exit 0", "\(second.log.suffix(2000))")
    }

    func expectQueryServed(_ client: HTTPClient, _ reference: Reference) async throws {
        let query = reference.queries[2]
        let answer = try await client.postJSON("/embed/queries", object: ["queries": [query.text]])
        let rows = matrix((answer.object?["embeddings"] as? [Any])?.first)
        let diff = rows.flatMap { maxAbsDifference($0, query.embedding) }
        #expect(answer.status == 200 && diff.map { $0 <= 1e-4 } == true, "\(answer)")
    }
}
