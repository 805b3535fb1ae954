import Foundation
import Logging
import Testing

@testable import Hub

/// Repo ids, URLs, cache paths, hashes and the file selection, without a network.
@Suite struct NamesTests {
    @Test(arguments: ["bert-base", "ModernVBERT/colmodernvbert", "a_b/c.d-e", "x/" + String(repeating: "a", count: 96)])
    func validRepoIDs(_ id: String) throws {
        let repo = try RepoID(id)
        #expect(repo.description == id)
        #expect(repo.cacheFolderName == "models--" + id.replacingOccurrences(of: "/", with: "--"))
    }

    @Test(arguments: [
        "", "a/b/c", "a--b", "a..b", "-a", "a.", "repo.git", "a b", "caf\u{e9}", "/", "a/",
        String(repeating: "a", count: 97),
    ])
    func invalidRepoIDs(_ id: String) {
        #expect(throws: HubError.self) { try RepoID(id) }
    }

    @Test func urlsAreBuiltAndQuotedLikeHuggingFaceHub() throws {
        let configuration = testConfiguration(endpoint: "https://hub.example/", cache: URL(fileURLWithPath: "/tmp/x"))
        let api = HubAPI(
            configuration: configuration, transport: try CurlTransport(), cancellation: CancellationFlag(),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let repo = try RepoID("org/model")
        #expect(api.modelInfoURL(repo: repo, revision: "refs/pr/1") == "https://hub.example/api/models/org/model/revision/refs%2Fpr%2F1")
        #expect(
            api.resolveURL(repo: repo, revision: "main", file: "sub dir/wé.json")
                == "https://hub.example/org/model/resolve/main/sub%20dir/w%C3%A9.json")
    }

    @Test func theTokenOnlyGoesToTheHubsOrigin() throws {
        var configuration = testConfiguration(endpoint: "https://hub.example", cache: URL(fileURLWithPath: "/tmp/x"))
        configuration.token = "hf_t"
        let api = HubAPI(
            configuration: configuration, transport: try CurlTransport(), cancellation: CancellationFlag(),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let auth = { (url: String) in api.headers(for: url).first { $0.name == "Authorization" }?.value }
        #expect(auth("https://hub.example/org/m/resolve/main/x") == "Bearer hf_t")
        #expect(auth("https://HUB.example:443/other") == "Bearer hf_t")
        #expect(auth("https://cdn.example/blob") == nil)
        #expect(auth("http://hub.example/org") == nil)
        #expect(auth("https://hub.example:8443/org") == nil)
    }

    @Test func smallHelpersFollowTheWireFormats() {
        #expect(URLEncoding.normalizeETag("W/\"abc\"") == "abc")
        #expect(URLEncoding.normalizeETag("\"abc\"") == "abc")
        #expect(URLEncoding.resolve("/a/b?x=1", against: "http://h:1/c/d") == "http://h:1/a/b?x=1")
        #expect(URLEncoding.resolve("http://o:2/z", against: "http://h:1/c/d") == "http://o:2/z")
        #expect(RepoCache.pointerTarget(file: "config.json", etag: "e") == "../../blobs/e")
        #expect(RepoCache.pointerTarget(file: "a/b/c.json", etag: "e") == "../../../../blobs/e")
        #expect(HubNames.isSafeRelativePath("a/b.json"))
        for unsafe in ["../x", "a/../b", "/abs", "a//b", "./a", "a\\b", ""] { #expect(!HubNames.isSafeRelativePath(unsafe)) }
        #expect(HubNames.isCommitHash(String(repeating: "a", count: 40)))
        #expect(!HubNames.isCommitHash(String(repeating: "A", count: 40)))
        #expect(!HubNames.isSafeBlobName("../x") && HubNames.isSafeBlobName("0187f3b09d"))
        #expect(ByteCount.format(999) == "999 B")
        #expect(ByteCount.format(1_234_567) == "1.2 MB")
        #expect(ByteCount.formatDuration(75) == "1m15s")
    }

    @Test func sizesPrintLikePrintfWithoutIt() {
        for value in [0.04, 0.05, 0.15, 0.25, 0.35, 1.25, 1.35, 2.5, 9.95, 999.95, 123.456, 1_000.0, 0.45, 0.95] {
            #expect(ByteCount.oneDecimal(value) == String(format: "%.1f", value), "\(value)")
        }
        #expect(ByteCount.format(Int64.max) == "9223.4 PB")
        #expect(ByteCount.formatDuration(3_725) == "1h02m" && ByteCount.formatDuration(65) == "1m05s")
        #expect(ByteCount.formatDuration(1e300) == "?")
    }

    @Test func sha256MatchesKnownVectors() throws {
        let empty = try Digest(.sha256)
        #expect(empty.finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let abc = try Digest(.sha256)
        abc.update(Data("ab".utf8))
        abc.update(Data("c".utf8))
        #expect(abc.finalize() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func theSelectionPrefersSingleWeightsAndNeedsTheRequiredFiles() throws {
        let selection = FileSelection.colModernVBert
        let listing: Set<String> = [
            "config.json", "tokenizer.json", "README.md", "model.safetensors", "model.safetensors.index.json",
            "processor_config.json", "pytorch_model.bin",
        ]
        let (files, weights) = try selection.plan(available: listing, repo: "r", revision: "main")
        #expect(Set(files) == ["config.json", "tokenizer.json", "processor_config.json"])
        #expect(weights == .single("model.safetensors"))
        let sharded = try selection.plan(available: listing.subtracting(["model.safetensors"]), repo: "r", revision: "main")
        #expect(sharded.weights == .sharded(index: "model.safetensors.index.json"))
        #expect(throws: HubError.fileNotFound(repo: "r", revision: "main", file: "model.safetensors")) {
            try selection.plan(available: ["config.json", "tokenizer.json", "pytorch_model.bin"], repo: "r", revision: "main")
        }
        let index = Data(#"{"weight_map": {"a": "s2.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}}"#.utf8)
        #expect(try FileSelection.shards(fromIndex: index, file: "i") == ["s1.safetensors", "s2.safetensors"])
        #expect(throws: HubError.self) {
            try FileSelection.shards(fromIndex: Data(#"{"weight_map": {"a": "../evil"}}"#.utf8), file: "i")
        }
    }
}
