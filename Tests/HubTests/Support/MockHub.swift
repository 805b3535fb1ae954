import Foundation

/// Runs scripts/mock_hub.py (a hub on one loopback port, its "CDN" on another) for
/// one test, and reads back the requests it served.
final class MockHub {
    struct Fault: Encodable {
        var fail_times: Int?
        var fail_status: Int?
        var drop_after: Int?
        var drop_times: Int?
        var corrupt: Bool?
        var advertise_size: Int64?
        var throttle: Int?
        var location: String?
        var cdn_redirect: String?
        var hide_size: Bool?
        var no_length: Bool?
        var extra_bytes: Int?
    }

    struct Repo: Encodable {
        var dir: String
        var token: String?
        var faults: [String: Fault]?
    }

    private struct Config: Encodable {
        var log: String
        var repos: [String: Repo]
        var api_fail_times: Int
    }

    private struct Startup: Decodable {
        let hub: Int
        let cdn: Int
        let commits: [String: String]
        let etags: [String: [String: String]]
    }

    struct Request: Decodable, Equatable {
        let server: String
        let method: String
        let path: String
        let range: String?
        let authorization: String?
        let status: Int
        let sent: Int
    }

    let endpoint: String
    let cdnPort: Int
    let commits: [String: String]
    let etags: [String: [String: String]]
    private let process: Process
    private let input: Pipe
    private let logURL: URL

    init(repos: [String: Repo], apiFailTimes: Int = 0, workDirectory: URL) throws {
        logURL = workDirectory.appendingPathComponent("mock-\(UUID().uuidString.prefix(6)).jsonl")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let configURL = workDirectory.appendingPathComponent("mock-config-\(UUID().uuidString.prefix(6)).json")
        try JSONEncoder().encode(Config(log: logURL.path, repos: repos, api_fail_times: apiFailTimes)).write(to: configURL)

        process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.python)
        process.arguments = [TestPaths.mockHubScript.path, configURL.path]
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()

        // The first stdout line announces the ports; EOF means the mock failed to start.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let startup = try? JSONDecoder().decode(Startup.self, from: line) else {
            process.terminate()
            throw TestFailure("mock hub did not start: \(String(decoding: line, as: UTF8.self))")
        }
        endpoint = "http://127.0.0.1:\(startup.hub)"
        cdnPort = startup.cdn
        commits = startup.commits
        etags = startup.etags
    }

    deinit { stop() }

    /// Stops the server: closing stdin makes it exit, SIGTERM covers the rest, and SIGKILL
    /// what still runs after a few seconds. Polls instead of `waitUntilExit()`, which spins
    /// forever on Linux when the child never exits.
    func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        process.terminate()
        if !waitForExit(seconds: 5) {
            kill(process.processIdentifier, SIGKILL)
            _ = waitForExit(seconds: 5)
        }
    }

    private func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }

    /// Requests served so far, in order.
    func requests() throws -> [Request] {
        let text = try String(contentsOf: logURL, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    /// GETs of a blob on the CDN, by its sha256.
    func cdnGets(sha: String) throws -> [Request] {
        try requests().filter { $0.server == "cdn" && $0.method == "GET" && $0.path.contains(sha) }
    }
}
