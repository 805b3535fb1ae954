import Foundation
import Glibc
import Synchronization
import Testing

/// A helper process (the service, nginx, the mock hub, curl) spawned with a clean signal state
/// (test threads may block signals; a child must not inherit that), in its own process group,
/// with stdout and stderr appended to a log file unless `stdoutPath` separates stdout.
///
/// `keepStdinOpen` gives the child a stream as stdin that stays open until `closeStdin()` (the
/// mock hub exits when its stdin closes); otherwise stdin is /dev/null.
final class ChildProcess: Sendable {
    let pid: pid_t
    let logPath: String
    let argv: [String]
    private let status = Mutex<Int32?>(nil)
    private let stdinWriter = Mutex<Int32>(-1)

    init(_ argv: [String], environment: [String: String], logPath: String, stdoutPath: String? = nil, keepStdinOpen: Bool = false) throws {
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
    func closeStdin() {
        stdinWriter.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// The raw wait status once reaped, polling without blocking.
    var waitStatus: Int32? {
        status.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status
        }
    }

    var hasExited: Bool { waitStatus != nil }

    /// The exit code, or nil while running or when killed by a signal.
    var exitCode: Int32? {
        guard let raw = waitStatus, raw & 0x7f == 0 else { return nil }
        return (raw >> 8) & 0xff
    }

    /// "exit 0", "signal 9" or "running".
    var statusDescription: String {
        guard let raw = waitStatus else { return "running" }
        return raw & 0x7f == 0 ? "exit \((raw >> 8) & 0xff)" : "signal \(raw & 0x7f)"
    }

    func signal(_ number: Int32) {
        if !hasExited { kill(pid, number) }
    }

    /// Waits (polling, without blocking a cooperative thread) until the process exits.
    @discardableResult
    func waitForExit(timeout: Double) async throws -> String {
        try await eventually(timeout: timeout, "\(argv.first ?? "process") (pid \(pid)) to exit; log:\n\(log.suffix(3000))") { self.hasExited }
        return statusDescription
    }

    /// Blocking cleanup for `defer`: SIGTERM to the process group, then SIGKILL after a few seconds.
    func terminate() {
        closeStdin()
        guard !hasExited else { return }
        kill(-pid, SIGTERM)
        for _ in 0..<200 where !hasExited { usleep(50_000) }
        if !hasExited {
            kill(-pid, SIGKILL)
            for _ in 0..<100 where !hasExited { usleep(50_000) }
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs a command to completion (bounded) and returns its exit description and output.
    static func run(_ argv: [String], environment: [String: String], directory: TestDirectory, timeout: Double = 60) async throws -> (status: String, output: String) {
        let logPath = directory.file("cmd-\(UInt32.random(in: 0...UInt32.max)).log")
        let child = try ChildProcess(argv, environment: environment, logPath: logPath)
        defer { child.terminate() }
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.log)
    }
}

struct SpawnFailed: Error, CustomStringConvertible {
    let argv: [String]
    let errno: Int32
    var description: String { "cannot start \(argv.joined(separator: " ")): \(String(cString: strerror(errno)))" }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every 25 ms (sleeping, not blocking a thread) until it holds or `timeout` passes.
func eventually(timeout: Double, _ what: @autoclosure () -> String, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    if try condition() { return }
    throw TimedOut(what: what())
}

/// Async variant of `eventually` for conditions that themselves await (HTTP calls).
func eventuallyAsync(timeout: Double, interval: Duration = .milliseconds(200), _ what: @autoclosure () -> String, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    if try await condition() { return }
    throw TimedOut(what: what())
}

/// Process ids whose parent is `parent` (from /proc/<pid>/stat).
func childProcesses(of parent: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // "pid (comm) state ppid ..." – comm may contain spaces, so split after the last ')'.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, pid_t(fields[1]) == parent else { return nil }
        // A zombie (state Z) is not a live worker.
        return fields[0] == "Z" ? nil : pid
    }.sorted()
}

/// Socket inodes ("socket:[123]") a process holds open.
func socketDescriptors(of pid: pid_t) -> Set<String> {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    return Set(fds.compactMap { fd in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
            target.hasPrefix("socket:")
        else { return nil }
        return target
    })
}

/// A loopback TCP port that was free a moment ago (bound to port 0, then released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    try #require(bound == 0, "bind: errno \(errno)")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    try #require(named == 0)
    return Int(UInt16(bigEndian: address.sin_port))
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
func connectsTCP(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
