import Foundation
import Glibc
import ProcessTestSupport
import Testing
@testable import WorkerPool

extension ChildProcess {
    /// The exit status once reaped, as the supervisor reports statuses.
    var exitStatus: ProcessExitStatus? { waitStatus.map { ProcessExitStatus(waitStatus: $0) } }

    func waitForExitStatus(timeout: Double) async throws -> ProcessExitStatus {
        try await waitForExit(timeout: timeout)
        return try #require(exitStatus)
    }
}

/// An HTTP answer as curl saw it.
struct CurlResponse {
    let status: Int
    let headers: [String: String]
    let body: Data

    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
}

/// Calls `curl` (TLS verification off: the certificate is self-signed) and parses the answer.
func curl(_ url: String, _ arguments: [String] = [], directory: TemporaryDirectory) async throws -> CurlResponse {
    let id = UInt32.random(in: 0...UInt32.max)
    let bodyPath = directory.file("body-\(id)")
    let headerPath = directory.file("headers-\(id)")
    let (status, output) = try await ChildProcess.run(
        ["curl", "-sk", "--max-time", "20", "-o", bodyPath, "-D", headerPath] + arguments + [url],
        environment: ["PATH": "/usr/bin:/bin"], logDirectory: directory.path, timeout: 30)
    guard status == "exit 0" else { throw CurlFailed(url: url, status: status, output: output) }
    let headerText = (try? String(contentsOfFile: headerPath, encoding: .utf8)) ?? ""
    // The last header block (after any 100-continue).
    let block = headerText.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
    var lines = block.components(separatedBy: "\r\n")
    let statusLine = lines.isEmpty ? "" : lines.removeFirst()
    let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    var headers: [String: String] = [:]
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let body = FileManager.default.contents(atPath: bodyPath) ?? Data()
    return CurlResponse(status: code, headers: headers, body: body)
}

struct CurlFailed: Error, CustomStringConvertible {
    let url: String
    let status: String
    let output: String
    var description: String { "curl \(url) failed: \(status) \(output)" }
}

/// A loopback port free right now (bound to port 0, then released).
func freePort() throws -> UInt16 {
    let socket = try ListeningSocket.bind(.tcp(host: "127.0.0.1", port: 0))
    defer { socket.close() }
    return try #require(socket.localPort)
}

/// Repository root: three levels up from Tests/WorkerPoolTests/<file>.swift.
func repositoryRoot(_ file: String = #filePath) -> String {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

func testPython() throws -> String {
    let python = ProcessInfo.processInfo.environment["COLPALI_TEST_PYTHON"] ?? "/usr/bin/python3"
    try #require(access(python, X_OK) == 0, "a Python interpreter for the fake FastCGI app (\(python))")
    return python
}
