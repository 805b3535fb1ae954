import Foundation
import Testing

@testable import Hub

/// Environment handling, checked against huggingface_hub itself.
@Suite struct ConfigurationTests {
    /// Environments covering every precedence step, `~` and `$VAR` expansion, tokens and offline flags.
    static let environments: [[String: String]] = [
        ["HOME": "/home/u"],
        ["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"],
        ["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg", "HF_HOME": "/hf"],
        ["HOME": "/home/u", "HF_HOME": "~/hf-$USER", "USER": "bob"],
        ["HOME": "/home/u", "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"],
        ["HOME": "/home/u", "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/new"],
        ["HOME": "/home/u", "HF_HUB_CACHE": "~/c/${NAME}/$MISSING", "NAME": "n"],
        ["HOME": "/home/u", "HF_ENDPOINT": "http://mirror.local:8080//", "HF_TOKEN": " hf_a \n"],
        ["HOME": "/home/u", "HUGGING_FACE_HUB_TOKEN": "hf_legacy", "HF_HUB_OFFLINE": "yes"],
        ["HOME": "/home/u", "HF_TOKEN": "hf_new", "HUGGING_FACE_HUB_TOKEN": "hf_legacy", "HF_HUB_OFFLINE": "0"],
        ["HOME": "/home/u", "TRANSFORMERS_OFFLINE": "1"],
        ["HOME": "/home/u", "HF_HUB_OFFLINE": "True", "TRANSFORMERS_OFFLINE": "0"],
    ]

    struct Expected: Decodable, Equatable {
        let cache: String
        let endpoint: String
        let token: String?
        let offline: Bool
    }

    @Test func matchesHuggingFaceHubForEveryEnvironment() throws {
        let script = """
            import importlib, json, os, sys
            results = []
            for env in json.loads(sys.argv[1]):
                os.environ.clear(); os.environ.update(env)
                import huggingface_hub.constants as constants
                importlib.reload(constants)
                from huggingface_hub.utils import _auth
                results.append({"cache": constants.HF_HUB_CACHE, "endpoint": constants.ENDPOINT,
                                "token": _auth.get_token(), "offline": constants.HF_HUB_OFFLINE})
            print(json.dumps(results))
            """
        let input = String(decoding: try JSONEncoder().encode(Self.environments), as: UTF8.self)
        let (status, out, err) = try runProcess(TestPaths.python, ["-c", script, input])
        try #require(status == 0, "python: \(err)")
        let expected = try JSONDecoder().decode([Expected].self, from: Data(out.utf8))
        try #require(expected.count == Self.environments.count)
        for (environment, reference) in zip(Self.environments, expected) {
            let ours = HubConfiguration.fromEnvironment(environment)
            let actual = Expected(
                cache: ours.cacheDirectory.path, endpoint: ours.endpoint, token: ours.token, offline: ours.offline)
            #expect(actual == reference, "environment \(environment)")
        }
    }

    @Test func theTokenFileIsReadWhenNoVariableIsSet() throws {
        let temp = try TemporaryDirectory()
        try " hf_from_file\n".write(to: temp.path("token"), atomically: true, encoding: .utf8)
        let fromFile = HubConfiguration.fromEnvironment(["HOME": "/nowhere", "HF_HOME": temp.url.path])
        #expect(fromFile.token == "hf_from_file")
        let fromVariable = HubConfiguration.fromEnvironment(["HF_HOME": temp.url.path, "HF_TOKEN": "hf_var"])
        #expect(fromVariable.token == "hf_var")
        let customPath = HubConfiguration.fromEnvironment(["HOME": "/nowhere", "HF_TOKEN_PATH": temp.path("token").path])
        #expect(customPath.token == "hf_from_file")
    }

    @Test func timeoutsFollowTheHuggingFaceHubVariables() {
        let defaults = HubConfiguration.fromEnvironment(["HOME": "/h"])
        let set = HubConfiguration.fromEnvironment(["HOME": "/h", "HF_HUB_ETAG_TIMEOUT": "7", "HF_HUB_DOWNLOAD_TIMEOUT": "90"])
        #expect(set.metadataTimeout == 7 && set.stallTimeout == 90)
        let junk = HubConfiguration.fromEnvironment(["HOME": "/h", "HF_HUB_ETAG_TIMEOUT": "soon"])
        #expect(junk.metadataTimeout == defaults.metadataTimeout)
    }

    @Test func emptyVariablesCountAsUnset() {
        let configuration = HubConfiguration.fromEnvironment(["HOME": "/h", "HF_HOME": "", "HF_HUB_CACHE": "", "HF_ENDPOINT": ""])
        #expect(configuration.cacheDirectory.path == "/h/.cache/huggingface/hub")
        #expect(configuration.endpoint == "https://huggingface.co")
    }

    @Test func retryDelaysGrowAndHonourRetryAfter() {
        let policy = RetryPolicy(maxAttempts: 5, initialDelay: 1, maxDelay: 8)
        #expect((1...5).map { policy.delay(afterAttempt: $0) } == [1, 2, 4, 8, 8])
        #expect(policy.delay(afterAttempt: 1, retryAfter: 5) == 5)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 100) == 8)
        #expect(RetryPolicy.isTransient(status: 503) && RetryPolicy.isTransient(status: 429))
        #expect(!RetryPolicy.isTransient(status: 404) && !RetryPolicy.isTransient(status: 401))
    }
}
