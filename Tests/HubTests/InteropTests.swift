import Foundation
import Testing

@testable import Hub

/// The cache layout is the one Python's huggingface_hub reads and writes: each side
/// finds the other's files, offline, and their download locks exclude each other.
@Suite struct InteropTests {
    static let files = RepoFixture.singleWeightsNeeded.sorted()

    func pythonEnvironment(_ scenario: Scenario, _ extra: [String: String]) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin", "HOME": scenario.temp.url.path, "HF_HUB_CACHE": scenario.cache.path,
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        ].merging(extra) { $1 }
    }

    func python(_ script: String, _ arguments: [String], _ environment: [String: String]) throws -> Data {
        let (status, out, err) = try runProcess(TestPaths.python, ["-c", script] + arguments, environment: environment)
        guard status == 0 else { throw TestFailure("python failed (\(status)): \(err)") }
        return Data(out.utf8)
    }

    @Test func aCacheWrittenByHuggingFaceHubIsUsedBySwift() throws {
        let scenario = try Scenario.tiny()
        let script = """
            import json, sys
            from huggingface_hub import hf_hub_download
            files = json.loads(sys.argv[1])
            print(json.dumps({f: hf_hub_download("test/tiny", f, revision="main") for f in files}))
            """
        let output = try python(
            script, [String(decoding: try JSONEncoder().encode(Self.files), as: UTF8.self)],
            pythonEnvironment(scenario, ["HF_ENDPOINT": scenario.hub.endpoint]))
        let pythonPaths = try JSONDecoder().decode([String: String].self, from: output)
        let before = try scenario.hub.requests().count

        // Offline, Swift finds Python's snapshot.
        let folder = try scenario.client(offline: true).ensureModel(id: "test/tiny")
        #expect(folder.lastPathComponent == scenario.commit("test/tiny"))
        for name in Self.files {
            #expect(pythonPaths[name] == folder.appendingPathComponent(name).path)
            #expect(try Data(contentsOf: folder.appendingPathComponent(name)) == (try scenario.source("test/tiny", name)))
        }
        // Online, Swift sees everything is there and fetches nothing.
        #expect(try scenario.client().ensureModel(id: "test/tiny") == folder)
        let after = try scenario.hub.requests().dropFirst(before)
        #expect(after.map(\.path) == ["/api/models/test/tiny/revision/main"])
    }

    @Test func aCacheWrittenBySwiftIsUsedByHuggingFaceHubOffline() throws {
        let scenario = try Scenario.tiny()
        let folder = try scenario.client().ensureModel(id: "test/tiny")
        scenario.hub.stop()
        let script = """
            import json, sys
            from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download
            files = json.loads(sys.argv[1])
            paths = {f: hf_hub_download("test/tiny", f) for f in files}
            snapshot = snapshot_download("test/tiny")
            info = scan_cache_dir()
            repos = [{"repo_id": r.repo_id, "repo_type": r.repo_type, "refs": sorted(r.refs),
                      "revisions": sorted(rev.commit_hash for rev in r.revisions),
                      "files": sorted(f.file_name for rev in r.revisions for f in rev.files),
                      "blobs_ok": all(f.blob_path.name == f.file_path.resolve().name for rev in r.revisions for f in rev.files)}
                     for r in info.repos]
            print(json.dumps({"paths": paths, "snapshot": snapshot, "warnings": [str(w) for w in info.warnings],
                              "repos": repos, "incomplete": len(info.incomplete_files)}))
            """
        struct Report: Decodable {
            struct Repo: Decodable {
                let repo_id: String
                let repo_type: String
                let refs: [String]
                let revisions: [String]
                let files: [String]
                let blobs_ok: Bool
            }
            let paths: [String: String]
            let snapshot: String
            let warnings: [String]
            let repos: [Repo]
            let incomplete: Int
        }
        let output = try python(
            script, [String(decoding: try JSONEncoder().encode(Self.files), as: UTF8.self)],
            pythonEnvironment(scenario, ["HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:1"]))
        let report = try JSONDecoder().decode(Report.self, from: output)
        #expect(report.snapshot == folder.path)
        for name in Self.files { #expect(report.paths[name] == folder.appendingPathComponent(name).path) }
        #expect(report.warnings.isEmpty)
        #expect(report.incomplete == 0)
        #expect(report.repos.count == 1)
        let repo = try #require(report.repos.first)
        #expect(repo.repo_id == "test/tiny" && repo.repo_type == "model")
        #expect(repo.refs == ["main"])
        #expect(repo.revisions == [scenario.commit("test/tiny")])
        #expect(repo.files == Self.files)
        #expect(repo.blobs_ok)
    }

    @Test func aPythonDownloadLockMakesSwiftWait() throws {
        let scenario = try Scenario.tiny()
        let sha = scenario.etag("test/tiny", "model.safetensors")
        let lockPath = scenario.cache.appendingPathComponent(".locks/models--test--tiny/\(sha).lock").path
        let marker = scenario.temp.path("locked").path
        let script = """
            import os, sys, time
            from filelock import FileLock
            os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
            with FileLock(sys.argv[1]):
                open(sys.argv[2], "w").close()
                time.sleep(0.8)
            """
        let holder = Thread { _ = try? runProcess(TestPaths.python, ["-c", script, lockPath, marker]) }
        holder.start()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: marker), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(FileManager.default.fileExists(atPath: marker))

        let started = Date()
        _ = try scenario.client().ensureModel(id: "test/tiny")
        #expect(Date().timeIntervalSince(started) > 0.3)
        #expect(scenario.recorder.logLines.contains { $0.hasPrefix("Waiting for another process") && $0.contains("model.safetensors") })
        #expect(try scenario.hub.cdnGets(sha: sha).count == 1)
    }
}
