import Foundation
import ProcessTestSupport
import Testing

/// The mock hub (scripts/mock_hub.py) on loopback, until `stop()`.
final class MockHub: Sendable {
    let process: ChildProcess
    let port: Int
    let logPath: String

    init(directory: TestDirectory, repos: [String: Any]) async throws {
        logPath = directory.file("hub-requests.jsonl")
        let config = directory.file("hub-config.json")
        try jsonText(["log": logPath, "repos": repos]).write(toFile: config, atomically: true, encoding: .utf8)
        let ports = directory.file("hub-ports.json")
        let child = try ChildProcess(
            [try Paths.python(), Paths.mockHub, config], environment: ["PATH": "/usr/bin:/bin"],
            logPath: directory.file("hub.log"), stdoutPath: ports, keepStdinOpen: true)
        process = child
        var found: Int?
        try await eventually(timeout: 30, "the mock hub to print its ports") {
            if child.hasExited { throw TimedOut(what: "mock hub exited: \(child.log)") }
            let text = (try? String(contentsOfFile: ports, encoding: .utf8)) ?? ""
            guard let line = text.split(separator: "\n").first,
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            else { return false }
            found = object["hub"] as? Int
            return found != nil
        }
        port = try #require(found)
    }

    /// Every request it answered: {"server", "method", "path", "status", ...}.
    var requests: [[String: Any]] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Closes its stdin, which makes it exit.
    func stop() async throws {
        process.closeStdin()
        try await process.waitForExit(timeout: 15)
    }
}
