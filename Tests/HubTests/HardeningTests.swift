import Foundation
import Logging
import Testing

@testable import Hub

/// A hostile or broken hub, mirror or cache (issue 12, deliverable 5): each check here
/// fails without the hardening it names.
@Suite struct HardeningTests {
    static let weights = "model.safetensors"

    // MARK: - http and https only

    @Test func libcurlSpeaksOnlyHTTPAndHTTPS() throws {
        let temp = try TemporaryDirectory()
        let secret = temp.path("secret.txt")
        try Data("the local secret".utf8).write(to: secret)
        let transport = try CurlTransport(connectTimeout: 2, stallTimeout: 2)
        for url in [secret.absoluteString, "dict://127.0.0.1:1/info", "gopher://127.0.0.1:1/_x", "ftp://127.0.0.1:1/x"] {
            var received = Data()
            do {
                _ = try transport.send(
                    HTTPRequest(method: .get, url: url), body: { _, bytes in received.append(contentsOf: bytes) },
                    isCancelled: { false })
                Issue.record("\(url) was fetched")
            } catch let failure as TransportFailure {
                guard case .refusedProtocol(let message) = failure else {
                    Issue.record("\(url): \(failure), not refused before any I/O")
                    continue
                }
                #expect(!message.contains("the local secret"))
            }
            #expect(received.isEmpty, "\(url) delivered \(received.count) bytes")
        }
    }

    @Test func anLFSRedirectToAFileURLIsRefusedNamingTheScheme() throws {
        let temp = try TemporaryDirectory()
        let secret = temp.path("secret.txt")
        try Data("the local secret".utf8).write(to: secret)
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(location: secret.absoluteString)])
        do {
            _ = try scenario.client().ensureModel(id: "test/tiny")
            Issue.record("a file:// redirect was followed")
        } catch let error as HubError {
            #expect(error == .disallowedURL(url: secret.absoluteString, scheme: "file"))
            #expect(error.description.contains("scheme 'file' is not http or https"))
            #expect(!error.description.contains("the local secret"))
        }
        #expect(try scenario.hub.requests().allSatisfy { $0.server == "hub" })
        let blobs = scenario.repoFolder("test/tiny").appendingPathComponent("blobs/\(scenario.etag("test/tiny", Self.weights))")
        #expect(!FileManager.default.fileExists(atPath: blobs.path))
    }

    @Test func aCDNRedirectToGopherIsRefused() throws {
        let target = "gopher://127.0.0.1:1/_PING"
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(cdn_redirect: target)])
        #expect(throws: HubError.disallowedURL(url: target, scheme: "gopher")) {
            try scenario.client().ensureModel(id: "test/tiny")
        }
        // One GET on the CDN, answered with the redirect; nothing after it.
        #expect(try scenario.hub.cdnGets(sha: scenario.etag("test/tiny", Self.weights)).map(\.status) == [302])
    }

    @Test func anEndpointThatIsNotHTTPIsRefusedBeforeAnyRequest() throws {
        let temp = try TemporaryDirectory()
        let client = HubClient(configuration: testConfiguration(endpoint: "file:///etc", cache: temp.path("hub")))
        #expect(throws: HubError.disallowedURL(url: "file:///etc/api/models/test/tiny/revision/main", scheme: "file")) {
            try client.ensureModel(id: "test/tiny")
        }
    }

    // MARK: - Sizes

    @Test func aDownloadStopsAtItsAnnouncedSize() throws {
        let scenario = try Scenario.tiny(faults: [Self.weights: .init(extra_bytes: 2_000_000)])
        let size = Int64(try scenario.source("test/tiny", Self.weights).count)
        #expect(throws: HubError.oversized(file: Self.weights, limit: size, declared: true)) {
            try scenario.client().ensureModel(id: "test/tiny")
        }
        let sha = scenario.etag("test/tiny", Self.weights)
        let blobs = scenario.repoFolder("test/tiny").appendingPathComponent("blobs")
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []
        #expect(!kept.contains { $0.hasPrefix(sha) }, "blob or partial kept: \(kept)")
        #expect(HubError.oversized(file: "f", limit: 1, declared: true).description.contains("aborted"))
    }

    @Test func aFileWithoutAnnouncedSizeIsCapped() throws {
        let faults: [String: MockHub.Fault] = [Self.weights: .init(hide_size: true, no_length: true)]
        let scenario = try Scenario.tiny(faults: faults)
        #expect(throws: HubError.oversized(file: Self.weights, limit: 1_000_000, declared: false)) {
            try scenario.client { $0.maxUndeclaredFileSize = 1_000_000 }.ensureModel(id: "test/tiny")
        }
        #expect(HubError.oversized(file: "f", limit: 1, declared: false).description.contains("HF_HUB_MAX_UNDECLARED_SIZE"))
        // Under the default cap the same file downloads and verifies.
        let folder = try scenario.client().ensureModel(id: "test/tiny")
        #expect(try Data(contentsOf: folder.appendingPathComponent(Self.weights)) == (try scenario.source("test/tiny", Self.weights)))
        let gets = try scenario.hub.cdnGets(sha: scenario.etag("test/tiny", Self.weights))
        #expect(gets.count == 2 && gets.allSatisfy { $0.status == 200 })
    }

    @Test func absurdAnnouncedSizesDoNotOverflow() throws {
        let huge = MockHub.Fault(advertise_size: Int64.max)
        let scenario = try Scenario([
            "org/sharded": (
                { try RepoFixture.sharded(at: $0) }, nil,
                ["model-00001-of-00002.safetensors": huge, "model-00002-of-00002.safetensors": huge]
            )
        ])
        do {
            _ = try scenario.client().ensureModel(id: "org/sharded", observer: scenario.recorder.observer)
            Issue.record("no error for an exabyte-sized shard")
        } catch let HubError.diskFull(_, needed, _) {
            #expect(needed == Int64.max)
        }
        #expect(scenario.recorder.logLines.contains { $0.hasPrefix("Fetching 8 file(s) of org/sharded, ") })
        #expect(scenario.recorder.progress.contains { $0.phase == .downloading && $0.totalBytes == Int64.max })
        #expect(ByteCount.sum(Int64.max, 1) == Int64.max && ByteCount.sum(2, 3) == 5)
    }

    @Test func aSizeThatIsNotAByteCountIsRejected() throws {
        let commit = String(repeating: "c", count: 40)
        let transport = FakeTransport { _ in
            .init(
                head: HTTPResponseHead(
                    status: 200,
                    headers: ["x-repo-commit": commit, "etag": "\"\(String(repeating: "a", count: 40))\"", "content-length": "-5"]))
        }
        let api = HubAPI(
            configuration: testConfiguration(endpoint: "https://hub.example", cache: URL(fileURLWithPath: "/nonexistent")),
            transport: transport, cancellation: CancellationFlag(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        #expect(
            throws: HubError.invalidResponse(
                url: "https://hub.example/o/m/resolve/\(commit)/config.json", reason: "size '-5' of config.json is not a byte count")
        ) {
            try api.fileMetadata(repo: try RepoID("o/m"), commit: commit, file: "config.json")
        }
    }

    // MARK: - The token over plain http

    @Test func theTokenStaysOffPlainHTTPUnlessAllowed() throws {
        let commit = String(repeating: "b", count: 40)
        func modelInfo(_ endpoint: String, token: String? = "hf_t", allow: Bool = false) -> (Result<ModelInfo, any Error>, [HTTPRequest]) {
            var configuration = testConfiguration(endpoint: endpoint, cache: URL(fileURLWithPath: "/nonexistent"), token: token)
            configuration.allowInsecureToken = allow
            let transport = FakeTransport.modelInfo(commit: commit)
            let api = HubAPI(
                configuration: configuration, transport: transport, cancellation: CancellationFlag(),
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            let result = Result { try api.modelInfo(repo: try RepoID("o/m"), revision: "main", retrying: false) }
            return (result, transport.requests)
        }
        // Refused, and nothing sent at all.
        let (refused, sent) = modelInfo("http://hub.example")
        #expect(throws: HubError.insecureToken(endpoint: "http://hub.example")) { try refused.get() }
        #expect(sent.isEmpty)
        #expect(HubError.insecureToken(endpoint: "e").description.contains("HF_HUB_ALLOW_INSECURE_TOKEN=1"))
        // Allowed explicitly, over https, on loopback; and without a token there is nothing to protect.
        for (endpoint, allow) in [
            ("http://hub.example", true), ("https://hub.example", false), ("http://127.0.0.1:9", false),
            ("http://127.8.9.10:9", false), ("http://localhost:9", false), ("http://[::1]:9", false),
        ] {
            let (result, sent) = modelInfo(endpoint, allow: allow)
            #expect(try result.get().commit == commit, "\(endpoint)")
            #expect(sent.map(\.authorization) == ["Bearer hf_t"], "\(endpoint)")
        }
        let (anonymous, anonymousSent) = modelInfo("http://hub.example", token: nil)
        #expect(try anonymous.get().commit == commit)
        #expect(anonymousSent.count == 1 && anonymousSent.first?.authorization == nil)
        // Look-alikes of loopback are not loopback.
        for endpoint in ["http://127.0.0.1.example", "http://localhost.example.com", "http://1127.0.0.1"] {
            #expect(throws: HubError.insecureToken(endpoint: endpoint)) { try modelInfo(endpoint).0.get() }
        }
    }

    @Test func theInsecureTokenAllowanceAndTheCapComeFromTheEnvironment() {
        let defaults = HubConfiguration.fromEnvironment(["HOME": "/h"])
        #expect(!defaults.allowInsecureToken && defaults.maxUndeclaredFileSize == 256 * 1024 * 1024)
        let set = HubConfiguration.fromEnvironment(
            ["HOME": "/h", "HF_HUB_ALLOW_INSECURE_TOKEN": "1", "HF_HUB_MAX_UNDECLARED_SIZE": "1000"])
        #expect(set.allowInsecureToken && set.maxUndeclaredFileSize == 1000)
        let junk = HubConfiguration.fromEnvironment([
            "HOME": "/h", "HF_HUB_ALLOW_INSECURE_TOKEN": "please", "HF_HUB_MAX_UNDECLARED_SIZE": "-1",
        ])
        #expect(!junk.allowInsecureToken && junk.maxUndeclaredFileSize == defaults.maxUndeclaredFileSize)
    }

    // MARK: - Git blob ids

    @Test func gitBlobIDsMatchGit() throws {
        let hello = try Digest.gitBlob(length: 12)
        hello.update(Data("hello world\n".utf8))
        #expect(hello.finalize() == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad")  // git hash-object
        #expect(try Digest(.sha1).finalize() == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test func aNonLFSFileIsCheckedAgainstItsGitBlobID() throws {
        let scenario = try Scenario.tiny(faults: ["config.json": .init(corrupt: true)])
        let etag = scenario.etag("test/tiny", "config.json")
        do {
            _ = try scenario.client().ensureModel(id: "test/tiny")
            Issue.record("a corrupt config.json was accepted")
        } catch let HubError.checksumMismatch(file, expected, actual) {
            #expect(file == "config.json" && expected == etag)
            #expect(actual != etag && actual.count == 40)
            #expect(HubError.checksumMismatch(file: file, expected: expected, actual: actual).description.contains("git blob id"))
        }
        let gets = try scenario.hub.requests().filter { $0.method == "GET" && $0.path.hasSuffix("/config.json") }
        #expect(gets.count == 2, "one fresh retry after the mismatch")
        let blobs =
            (try? FileManager.default.contentsOfDirectory(atPath: scenario.repoFolder("test/tiny").appendingPathComponent("blobs").path))
            ?? []
        #expect(!blobs.contains { $0.hasPrefix(etag) }, "\(blobs)")
    }

    @Test func anETagThatNamesNoHashIsRejected() throws {
        let commit = String(repeating: "c", count: 40)
        let transport = FakeTransport { _ in
            .init(head: HTTPResponseHead(status: 200, headers: ["x-repo-commit": commit, "etag": "\"5f3c-1a2b\"", "content-length": "5"]))
        }
        let api = HubAPI(
            configuration: testConfiguration(endpoint: "https://hub.example", cache: URL(fileURLWithPath: "/nonexistent")),
            transport: transport, cancellation: CancellationFlag(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        do {
            _ = try api.fileMetadata(repo: try RepoID("o/m"), commit: commit, file: "config.json")
            Issue.record("an unverifiable ETag was accepted")
        } catch let HubError.invalidResponse(_, reason) {
            #expect(reason.contains("neither an LFS SHA-256 nor a git blob id"))
        }
    }

    // MARK: - refs

    @Test func aRefThatIsNotACommitHashIsAnErrorNotAPath() throws {
        let scenario = try Scenario.tiny()
        // A complete-looking snapshot outside the repository, where "../../../decoy" leads.
        let decoy = scenario.cache.deletingLastPathComponent().appendingPathComponent("decoy")
        try RepoFixture.single(at: decoy, weightBytes: 1000)
        let refs = scenario.repoFolder("test/tiny").appendingPathComponent("refs")
        try FileManager.default.createDirectory(at: refs, withIntermediateDirectories: true)
        // An earlier snapshot's folder, which the kernel needs to resolve "snapshots/..".
        let snapshots = scenario.repoFolder("test/tiny").appendingPathComponent("snapshots")
        try FileManager.default.createDirectory(at: snapshots, withIntermediateDirectories: true)
        let ref = refs.appendingPathComponent("main")
        try Data("../../../decoy".utf8).write(to: ref)

        do {
            let folder = try scenario.client(offline: true).ensureModel(id: "test/tiny")
            Issue.record("the ref was used as a path: \(folder.path)")
        } catch let HubError.corruptCache(path, reason) {
            #expect(path == ref.path)
            #expect(reason.contains("not a 40-character commit hash"))
        }
        #expect(scenario.client().cachedModel(id: "test/tiny") == nil)

        // Online, the hub says which commit it is, and the ref is written anew.
        let folder = try scenario.client().ensureModel(id: "test/tiny")
        #expect(folder.lastPathComponent == scenario.commit("test/tiny"))
        #expect(try String(contentsOf: ref, encoding: .utf8) == scenario.commit("test/tiny"))
        #expect(scenario.recorder.warnings.contains { $0.hasPrefix("Ignoring the cached refs/main") })
    }

    @Test func aRefThatIsASymbolicLinkIsNotFollowed() throws {
        let scenario = try Scenario.tiny()
        let online = try scenario.client().ensureModel(id: "test/tiny")
        let ref = scenario.repoFolder("test/tiny").appendingPathComponent("refs/main")
        let elsewhere = scenario.temp.path("elsewhere")
        try Data(scenario.commit("test/tiny").utf8).write(to: elsewhere)
        try FileManager.default.removeItem(at: ref)
        try FileManager.default.createSymbolicLink(at: ref, withDestinationURL: elsewhere)
        #expect(throws: HubError.corruptCache(path: ref.path, reason: "a symbolic link where a plain file belongs; not followed")) {
            try scenario.client(offline: true).ensureModel(id: "test/tiny")
        }
        #expect(online.lastPathComponent == scenario.commit("test/tiny"))
    }

    // MARK: - O_NOFOLLOW on cache files

    @Test func aSymbolicLinkAtAPartialDownloadIsNotWrittenThrough() throws {
        let scenario = try Scenario.tiny()
        let sha = scenario.etag("test/tiny", Self.weights)
        let blobs = scenario.repoFolder("test/tiny").appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let victim = scenario.temp.path("victim.txt")
        try Data("precious".utf8).write(to: victim)
        let incomplete = blobs.appendingPathComponent("\(sha).incomplete")
        try FileManager.default.createSymbolicLink(at: incomplete, withDestinationURL: victim)

        #expect(throws: HubError.corruptCache(path: incomplete.path, reason: "a symbolic link where a plain file belongs; not followed")) {
            try scenario.client().ensureModel(id: "test/tiny")
        }
        #expect(try Data(contentsOf: victim) == Data("precious".utf8))
    }

    @Test func aSymbolicLinkAtABlobIsReplacedNotTrusted() throws {
        let scenario = try Scenario.tiny()
        let sha = scenario.etag("test/tiny", Self.weights)
        let blobs = scenario.repoFolder("test/tiny").appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let decoy = scenario.temp.path("decoy.safetensors")
        try Data("not the weights".utf8).write(to: decoy)
        try FileManager.default.createSymbolicLink(at: blobs.appendingPathComponent(sha), withDestinationURL: decoy)

        let folder = try scenario.client().ensureModel(id: "test/tiny")
        #expect(try Data(contentsOf: folder.appendingPathComponent(Self.weights)) == (try scenario.source("test/tiny", Self.weights)))
        #expect(try Data(contentsOf: decoy) == Data("not the weights".utf8))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: blobs.appendingPathComponent(sha).path)) == nil)
    }

    @Test func aSymbolicLinkAtALockFileIsNotFollowed() throws {
        let temp = try TemporaryDirectory()
        let victim = temp.path("victim.txt")
        try Data("precious".utf8).write(to: victim)
        let path = temp.path("locks/x.lock")
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: path, withDestinationURL: victim)
        #expect(throws: HubError.corruptCache(path: path.path, reason: "a symbolic link where a plain file belongs; not followed")) {
            try FileLock(path: path).tryLock()
        }
    }
}
