import Foundation
import Glibc
import Logging
import POSIX
import ProcessTestSupport
import Testing

@testable import WorkerPool

/// A private temporary directory with a short path (unix socket paths are limited to 107 bytes).
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/sct.XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(result.map { String(cString: $0) })
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }
}

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

/// Repository root: three levels up from Tests/ScriptTests/<file>.swift.
func repositoryRoot(_ file: String = #filePath) -> String {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

func testPython() throws -> String {
    let python = ProcessInfo.processInfo.environment["COLPALI_TEST_PYTHON"] ?? "/usr/bin/python3"
    try #require(access(python, X_OK) == 0, "a Python interpreter for the fake FastCGI app (\(python))")
    return python
}

/// The service binary the scripts ask for the upstream address (`colmodernvbert config
/// upstream`): `COLPALI_TEST_BINARY`, else `.build/debug/colmodernvbert`, as IntegrationTests.
func serviceBinary() throws -> String {
    let configured = ProcessInfo.processInfo.environment["COLPALI_TEST_BINARY"].flatMap { $0.isEmpty ? nil : $0 }
    let path = configured ?? "\(repositoryRoot())/.build/debug/colmodernvbert"
    try #require(
        access(path, X_OK) == 0,
        "the service binary \(path) is missing: run `swift build` first, or set COLPALI_TEST_BINARY to a built colmodernvbert")
    return path
}

/// A logger that drops everything (the pool's lines are not what these suites check).
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Every suite that runs scripts/nginx.sh, one test at a time. nginx.sh asks the service
/// binary for the upstream address, and the binary loads libtorch when it starts (measured
/// ~0.3 s of CPU per call, ~1 s wall on the loaded 2-core development machine; twelve at once
/// took 17 s there), so parallel cases pushed the suites' nginx waits past their timeouts.
@Suite(.serialized) enum ScriptSuites {}

/// Runs `scripts/nginx.sh ACTION` (`snippet` into a folder, or `check`) with a private run
/// directory, the built binary and `overrides`; returns its output and, when it succeeded, the
/// rendered http and locations files.
func renderNginx(_ overrides: [String: String], action: String = "snippet", in directory: TemporaryDirectory) async throws
    -> (output: String, http: String?, locations: String?)
{
    let nginxScript = "\(repositoryRoot())/scripts/nginx.sh"
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("COLPALI_") }
    environment["COLPALI_RUN_DIR"] = directory.file("run")
    environment["COLPALI_BINARY"] = try serviceBinary()
    for (key, value) in overrides { environment[key] = value }
    let snippets = action == "snippet" ? directory.file("snippets") : directory.file("run/nginx")
    let argv = action == "snippet" ? [nginxScript, "snippet", snippets] : [nginxScript, action]
    let (status, output) = try await ChildProcess.run(argv, environment: environment, logDirectory: directory.path)
    guard status == "exit 0" else { return (output, nil, nil) }
    let http = try String(contentsOfFile: "\(snippets)/colmodernvbert-http.conf", encoding: .utf8)
    let locations = try String(contentsOfFile: "\(snippets)/colmodernvbert-locations.conf", encoding: .utf8)
    return (output, http, locations)
}
