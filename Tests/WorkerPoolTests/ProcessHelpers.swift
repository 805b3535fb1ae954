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
typealias CurlResponse = CurlAnswer

extension CurlAnswer {
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
}

/// Calls `curl` on `url` (at most 20 s) with scratch files in `directory`.
func curl(_ url: String, _ arguments: [String] = [], directory: TemporaryDirectory) async throws -> CurlResponse {
    try await ProcessTestSupport.curl(
        url, arguments, scratchDirectory: directory.path, maxTime: 20, timeout: 30, searchPath: "/usr/bin:/bin")
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
