import Foundation

@testable import Hub

/// One test's world: a temp folder, generated repositories served by a mock hub,
/// an empty cache, and a recorder for logs and progress.
final class Scenario {
    let temp: TemporaryDirectory
    let hub: MockHub
    let cache: URL
    let recorder = Recorder()
    /// Source folders of the repositories, by repo id.
    let sources: [String: URL]

    /// `repos`: repo id -> (generator, token, faults).
    init(
        _ repos: [String: (generate: (URL) throws -> Void, token: String?, faults: [String: MockHub.Fault])],
        apiFailTimes: Int = 0
    ) throws {
        temp = try TemporaryDirectory()
        cache = temp.path("cache/hub")
        var specs: [String: MockHub.Repo] = [:]
        var sources: [String: URL] = [:]
        for (id, repo) in repos {
            let folder = temp.path("repos/\(id)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try repo.generate(folder)
            sources[id] = folder
            specs[id] = MockHub.Repo(dir: folder.path, token: repo.token, faults: repo.faults.isEmpty ? nil : repo.faults)
        }
        self.sources = sources
        hub = try MockHub(repos: specs, apiFailTimes: apiFailTimes, workDirectory: temp.url)
    }

    /// The usual single-weights repository "test/tiny", optionally with faults.
    static func tiny(faults: [String: MockHub.Fault] = [:], token: String? = nil, apiFailTimes: Int = 0) throws -> Scenario {
        try Scenario(["test/tiny": ({ try RepoFixture.single(at: $0) }, token, faults)], apiFailTimes: apiFailTimes)
    }

    func client(
        token: String? = nil, offline: Bool = false, endpoint: String? = nil, adjust: (inout HubConfiguration) -> Void = { _ in }
    ) -> HubClient {
        var configuration = testConfiguration(endpoint: endpoint ?? hub.endpoint, cache: cache, token: token, offline: offline)
        adjust(&configuration)
        return HubClient(configuration: configuration, logger: recorder.logger)
    }

    func source(_ repo: String, _ file: String) throws -> Data {
        guard let folder = sources[repo] else { throw TestFailure("no repository \(repo) in this scenario") }
        return try Data(contentsOf: folder.appendingPathComponent(file))
    }

    func commit(_ repo: String) -> String { hub.commits[repo] ?? "?" }
    func etag(_ repo: String, _ file: String) -> String { hub.etags[repo]?[file] ?? "?" }

    func repoFolder(_ repo: String) -> URL {
        cache.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
    }
}
