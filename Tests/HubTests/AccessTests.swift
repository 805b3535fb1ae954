import Foundation
import Testing

@testable import Hub

/// Tokens, unknown repositories and revisions, unreachable hubs, offline mode.
@Suite struct AccessTests {
    @Test func aGatedRepoNeedsTheToken() throws {
        let scenario = try Scenario.tiny(token: "hf_secret")
        do {
            _ = try scenario.client().ensureModel(id: "test/tiny")
            Issue.record("no error without a token")
        } catch let error as HubError {
            #expect(error == .accessDenied(repo: "test/tiny", status: 401, gated: true, hadToken: false, endpoint: scenario.hub.endpoint))
            #expect(error.description.contains("set HF_TOKEN"))
        }
        // The listing is public; the file request is the one refused.
        let refused = try scenario.hub.requests().filter { $0.status == 401 }
        #expect(refused.count == 1)
        #expect(refused.first?.method == "HEAD" && refused.first?.path.contains("/resolve/") == true)
        #expect(throws: HubError.accessDenied(repo: "test/tiny", status: 403, gated: true, hadToken: true, endpoint: scenario.hub.endpoint))
        {
            try scenario.client(token: "hf_wrong").ensureModel(id: "test/tiny")
        }

        let before = try scenario.hub.requests().count
        let folder = try scenario.client(token: "hf_secret").ensureModel(id: "test/tiny")
        #expect(try readSnapshot(folder).count == RepoFixture.singleWeightsNeeded.count)
        let requests = try scenario.hub.requests().dropFirst(before)
        // The token goes to the hub, never to the CDN host the redirect points at.
        #expect(requests.filter { $0.server == "hub" }.allSatisfy { $0.authorization == "Bearer hf_secret" })
        #expect(requests.contains { $0.server == "cdn" })
        #expect(requests.filter { $0.server == "cdn" }.allSatisfy { $0.authorization == nil })
    }

    @Test func anUnknownRepoOrRevisionSaysSo() throws {
        let scenario = try Scenario.tiny()
        do {
            _ = try scenario.client().ensureModel(id: "test/nope")
            Issue.record("no error for an unknown repo")
        } catch let error as HubError {
            #expect(error == .repositoryNotFound(repo: "test/nope", endpoint: scenario.hub.endpoint, hadToken: false))
            #expect(error.description.contains("'test/nope' was not found"))
            #expect(error.description.contains("HF_TOKEN"))
        }
        #expect(throws: HubError.revisionNotFound(repo: "test/tiny", revision: "v9")) {
            try scenario.client().ensureModel(id: "test/tiny", revision: "v9")
        }
        #expect(throws: HubError.invalidModelID("a/b/c", reason: "expected 'name' or 'namespace/name'")) {
            try scenario.client().ensureModel(id: "a/b/c")
        }
    }

    @Test func aRepoWithoutARequiredFileIsRejected() throws {
        let scenario = try Scenario(["test/notok": ({ try RepoFixture.withoutTokenizer(at: $0) }, nil, [:])])
        #expect(throws: HubError.fileNotFound(repo: "test/notok", revision: "main", file: "tokenizer.json")) {
            try scenario.client().ensureModel(id: "test/notok")
        }
    }

    @Test func anUnreachableHubIsReportedWithWhatToCheck() throws {
        let temp = try TemporaryDirectory()
        let client = HubClient(configuration: testConfiguration(endpoint: "http://127.0.0.1:1", cache: temp.path("hub")))
        do {
            _ = try client.ensureModel(id: "test/tiny")
            Issue.record("no error for an unreachable hub")
        } catch let error as HubError {
            guard case .networkUnavailable(let endpoint, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(endpoint == "http://127.0.0.1:1")
            #expect(error.description.contains("HF_ENDPOINT"))
            #expect(error.description.contains("HF_HUB_OFFLINE=1"))
        }
    }

    @Test func offlineModeUsesTheCacheOnly() throws {
        let scenario = try Scenario.tiny()
        do {
            _ = try scenario.client(offline: true).ensureModel(id: "test/tiny")
            Issue.record("offline mode with an empty cache did not fail")
        } catch let error as HubError {
            guard case .offlineCacheMiss(let repo, let revision, _, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(repo == "test/tiny" && revision == "main")
            #expect(error.description.contains("HF_HUB_OFFLINE"))
        }
        #expect(try scenario.hub.requests().isEmpty)

        let online = try scenario.client().ensureModel(id: "test/tiny")
        scenario.hub.stop()
        // Offline: same folder, no network.
        #expect(try scenario.client(offline: true).ensureModel(id: "test/tiny") == online)
        #expect(scenario.client().cachedModel(id: "test/tiny") == online)
        // Online but the hub is gone: falls back to the complete cache, with a warning.
        #expect(try scenario.client().ensureModel(id: "test/tiny") == online)
        #expect(scenario.recorder.warnings.contains { $0.contains("using the cached snapshot") })

        // A snapshot missing its weights is not "complete".
        try FileManager.default.removeItem(at: online.appendingPathComponent("model.safetensors"))
        #expect(
            throws: HubError.offlineCacheMiss(
                repo: "test/tiny", revision: "main", cacheDirectory: scenario.cache.path, missing: ["model.safetensors"])
        ) {
            try scenario.client(offline: true).ensureModel(id: "test/tiny")
        }
        #expect(scenario.client().cachedModel(id: "test/tiny") == nil)
    }
}
