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
        var template = Array("/tmp/wpt.XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(result.map { String(cString: $0) })
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }
}

/// Collects every log record so tests can assert the lines an operator would see.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
    }

    let records = Locked<[Record]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.withLock { $0.append(Record(level: event.level, message: event.message.description)) }
    }

    func messages(atLeast level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.level >= level }.map(\.message) }
    }
}

/// A supervisor running a `/bin/sh -c SCRIPT` fake worker on a background thread.
final class PoolHarness: Sendable {
    let directory: TemporaryDirectory
    let socketPath: String
    let supervisor: Supervisor
    let events = Locked<[(time: Double, event: SupervisorEvent)]>([])
    let logs: RecordingLogHandler
    private let outcome = Locked<Result<Void, SupervisorError>?>(nil)

    init(
        script: String,
        workers: Int,
        backoff: RestartBackoff = RestartBackoff(initial: .milliseconds(50), maximum: .seconds(1)),
        crashLoop: CrashLoopPolicy = CrashLoopPolicy(maximumDeaths: 50, window: .seconds(60), maximumConsecutiveFailedStarts: 50),
        readyTimeout: Duration = .seconds(10),
        grace: Duration = .seconds(10),
        executable: String = "/bin/sh",
        observer: (@Sendable (SupervisorEvent) -> Void)? = nil
    ) throws {
        directory = try TemporaryDirectory()
        socketPath = directory.file("pool.sock")
        let listener = try ListeningSocket.bind(.unix(path: socketPath))
        let handler = RecordingLogHandler()
        logs = handler
        var environment = ProcessInfo.processInfo.environment
        environment["TEST_DIR"] = directory.path
        let command = WorkerCommand(executable: executable, arguments: ["-c", script, "fake-worker"], environment: environment)
        let configuration = SupervisorConfiguration(
            command: command, workerCount: workers, backoff: backoff, crashLoop: crashLoop,
            readyTimeout: readyTimeout, drainGracePeriod: grace)
        let events = self.events
        let start = MonotonicTime.now()
        supervisor = try Supervisor(
            configuration: configuration, listener: listener,
            logger: Logger(label: "test.pool") { _ in handler },
            observer: { event in
                events.withLock { $0.append((MonotonicTime.now() - start, event)) }
                observer?(event)
            })
    }

    /// Starts `run()` on a new thread.
    func start(signals: SignalRelay? = nil) {
        let supervisor = self.supervisor
        let outcome = self.outcome
        let thread = Thread {
            let result = Result { () throws(SupervisorError) in try supervisor.run(signals: signals) }
            outcome.withLock { $0 = result }
        }
        thread.start()
    }

    var result: Result<Void, SupervisorError>? { outcome.withLock { $0 } }

    var eventList: [SupervisorEvent] { events.withLock { $0.map(\.event) } }

    /// Waits for `run()` to return; fails the test after `timeout`.
    @discardableResult
    func waitForExit(timeout: Double) async throws -> Result<Void, SupervisorError> {
        try await eventually(timeout: timeout, "supervisor run() to return") { self.result != nil }
        return try #require(result)
    }

    func waitForReady(_ count: Int, timeout: Double = 10) async throws {
        try await eventually(timeout: timeout, "\(count) ready workers") {
            let snapshot = self.supervisor.snapshot
            return snapshot.workers.filter { $0.state == .ready }.count >= count
        }
    }

    /// Stops the pool if a test left it running: a second stop request SIGKILLs the
    /// workers, so no fake worker outlives the test. (Only pids the supervisor still
    /// tracks are ever signalled: a reaped pid may already belong to someone else.)
    func shutdown() async {
        guard result == nil else { return }
        supervisor.requestStop()
        supervisor.requestStop()
        _ = try? await waitForExit(timeout: 15)
    }
}

func processExists(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}

/// `readlink /proc/self/fd/N`, e.g. "socket:[123456]".
func descriptorLink(_ fd: Int32) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
}

/// Connects to a unix socket; returns the descriptor or -1.
func connectUnix(_ path: String) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0, let address = try? SocketAddress.unix(path) else { return -1 }
    guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
        close(fd)
        return -1
    }
    return fd
}

/// Shell fragments for fake workers.
enum FakeWorker {
    /// Announce ready, then idle; exit 0 on SIGTERM.
    static let readyAndIdle = """
        trap 'exit 0' TERM
        echo ready >&3
        exec 3>&-
        while :; do sleep 0.05; done
        """

    /// Exit at once, never ready (a worker that cannot load its model).
    static let crash = "exit 3"
}
