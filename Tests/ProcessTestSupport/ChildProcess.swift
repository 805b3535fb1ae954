import Foundation
import Glibc
import Synchronization

/// A helper process (the service, nginx, a mock server, curl, a script) spawned with a clean signal state
/// (test threads may block signals; a child must not inherit that), in its own process group,
/// with stdout and stderr appended to a log file unless `stdoutPath` separates stdout.
///
/// `keepStdinOpen` gives the child a stream as stdin that stays open until `closeStdin()` (the
/// mock hub exits when its stdin closes); otherwise stdin is /dev/null.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String
    public let argv: [String]
    private let status = Mutex<Int32?>(nil)
    private let stdinWriter = Mutex<Int32>(-1)

    public init(_ argv: [String], environment: [String: String], logPath: String, stdoutPath: String? = nil, keepStdinOpen: Bool = false)
        throws
    {
        self.argv = argv
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if keepStdinOpen {
            // A socket pair rather than a pipe: it is created close-on-exec atomically, so a
            // process spawned at the same moment by another test cannot inherit our end.
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pipeEnds) == 0 else {
                throw SpawnFailed(argv: argv, errno: errno)
            }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let stdoutPath {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        }
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
        if keepStdinOpen { close(pipeEnds[0]) }
        guard rc == 0 else {
            if keepStdinOpen { close(pipeEnds[1]) }
            throw SpawnFailed(argv: argv, errno: rc)
        }
        self.pid = pid
        stdinWriter.withLock { $0 = pipeEnds[1] }
    }

    deinit { closeStdin() }

    /// Closes the child's stdin stream (end of input for it).
    public func closeStdin() {
        stdinWriter.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// The raw wait status once reaped, polling without blocking.
    public var waitStatus: Int32? {
        status.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status
        }
    }

    public var hasExited: Bool { waitStatus != nil }

    /// The exit code, or nil while running or when killed by a signal.
    public var exitCode: Int32? {
        guard let raw = waitStatus, raw & 0x7f == 0 else { return nil }
        return (raw >> 8) & 0xff
    }

    /// "exit 0", "signal 9" or "running".
    public var statusDescription: String {
        guard let raw = waitStatus else { return "running" }
        return raw & 0x7f == 0 ? "exit \((raw >> 8) & 0xff)" : "signal \(raw & 0x7f)"
    }

    public func signal(_ number: Int32) {
        if !hasExited { kill(pid, number) }
    }

    /// Waits (polling, without blocking a cooperative thread) until the process exits.
    @discardableResult
    public func waitForExit(timeout: Double) async throws -> String {
        try await eventually(timeout: timeout, "\(argv.first ?? "process") (pid \(pid)) to exit; log:\n\(log.suffix(3000))") {
            self.hasExited
        }
        return statusDescription
    }

    /// Blocking cleanup for `defer`: SIGTERM to the process group, then SIGKILL after a few seconds.
    public func terminate() {
        closeStdin()
        guard !hasExited else { return }
        kill(-pid, SIGTERM)
        for _ in 0..<200 where !hasExited { usleep(50_000) }
        if !hasExited {
            kill(-pid, SIGKILL)
            for _ in 0..<100 where !hasExited { usleep(50_000) }
        }
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs a command to completion (bounded); its output goes to a new log file in `logDirectory`.
    public static func run(
        _ argv: [String], environment: [String: String], logDirectory: String, timeout: Double = 60
    ) async throws -> (status: String, output: String) {
        let logPath = "\(logDirectory)/cmd-\(UInt32.random(in: 0...UInt32.max)).log"
        let child = try ChildProcess(argv, environment: environment, logPath: logPath)
        defer { child.terminate() }
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.log)
    }
}

public struct SpawnFailed: Error, CustomStringConvertible {
    public let argv: [String]
    public let errno: Int32
    public var description: String { "cannot start \(argv.joined(separator: " ")): \(String(cString: strerror(errno)))" }
}

public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every 25 ms (sleeping, not blocking a thread) until it holds or `timeout` passes.
public func eventually(timeout: Double, _ what: @autoclosure () -> String, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    if try condition() { return }
    throw TimedOut(what: what())
}

/// Async variant of `eventually` for conditions that themselves await (HTTP calls).
public func eventuallyAsync(
    timeout: Double, interval: Duration = .milliseconds(200), _ what: @autoclosure () -> String, _ condition: () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    if try await condition() { return }
    throw TimedOut(what: what())
}
