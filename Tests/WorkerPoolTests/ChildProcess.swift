import Foundation
import Glibc
import Testing
@testable import WorkerPool

/// A helper process for the nginx/run.sh tests, spawned with a clean signal state
/// (test threads block signals, and a child must not inherit that) in its own process
/// group, with stdout and stderr appended to a log file.
final class ChildProcess: Sendable {
    let pid: pid_t
    let logPath: String
    private let status = Locked<Int32?>(nil)

    init(_ argv: [String], environment: [String: String], logPath: String) throws {
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw SystemCallError("posix_spawnp", subject: argv[0], errno: rc) }
        self.pid = pid
    }

    /// The exit status once reaped (`ProcessExitStatus`), polling without blocking.
    var exitStatus: ProcessExitStatus? {
        status.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status.map { ProcessExitStatus(waitStatus: $0) }
        }
    }

    func signal(_ signal: Int32) {
        if exitStatus == nil { kill(pid, signal) }
    }

    func waitForExit(timeout: Double) async throws -> ProcessExitStatus {
        try await eventually(timeout: timeout, "process \(pid) to exit") { self.exitStatus != nil }
        return try #require(exitStatus)
    }

    /// Blocking cleanup for `defer`: SIGTERM, then SIGKILL after a few seconds.
    func terminate() {
        guard exitStatus == nil else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where exitStatus == nil { usleep(50_000) }
        if exitStatus == nil {
            kill(pid, SIGKILL)
            for _ in 0..<40 where exitStatus == nil { usleep(50_000) }
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs a command to completion (bounded) and returns its status and output.
    static func run(_ argv: [String], environment: [String: String], directory: TemporaryDirectory, timeout: Double = 30) async throws -> (status: ProcessExitStatus, output: String) {
        let logPath = directory.file("cmd-\(UInt32.random(in: 0...UInt32.max)).log")
        let child = try ChildProcess(argv, environment: environment, logPath: logPath)
        defer { child.terminate() }
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.log)
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
        environment: ["PATH": "/usr/bin:/bin"], directory: directory)
    guard status == .exited(code: 0) else { throw CurlFailed(url: url, status: status, output: output) }
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
    let status: ProcessExitStatus
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
