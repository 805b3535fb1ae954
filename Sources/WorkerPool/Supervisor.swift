import Glibc
import Logging
import POSIX

/// The master's process supervisor: keeps `workerCount` workers alive on one listening
/// socket, restarts the dead with backoff, gives up on a crash loop, drains on stop and
/// replaces workers one at a time on request.
///
/// `run()` blocks the calling thread in a poll loop until the pool has stopped; the
/// `request…` methods and `snapshot` may be used from any thread meanwhile. Signals
/// reach the loop through a `SignalRelay` (SIGTERM/SIGINT: stop, SIGHUP: rolling
/// restart; a second stop request while draining kills the workers at once).
public final class Supervisor: Sendable {
    public let configuration: SupervisorConfiguration
    let listener: ListeningSocket
    let logger: Logger
    let observer: (@Sendable (SupervisorEvent) -> Void)?
    let controlReadEnd: Int32
    private let controlWriteEnd: Int32
    private let published: Locked<SupervisorSnapshot>
    private let hasRun = Locked(false)

    enum Control: UInt8 {
        case stop = 0x73  // "s"
        case rollingRestart = 0x72  // "r"
    }

    /// - Parameters:
    ///   - listener: the bound socket every worker gets as fd 0; the supervisor removes
    ///     its unix path when it starts to stop and closes it when `run()` returns.
    ///   - observer: called on the supervisor's thread for every event (keep it quick).
    public init(
        configuration: SupervisorConfiguration,
        listener: ListeningSocket,
        logger: Logger = Logger(label: "colmodernvbert.pool"),
        observer: (@Sendable (SupervisorEvent) -> Void)? = nil
    ) throws(SupervisorError) {
        guard configuration.workerCount >= 1 else {
            throw .invalidConfiguration("worker count must be at least 1 (got \(configuration.workerCount))")
        }
        guard !configuration.command.executable.isEmpty else {
            throw .invalidConfiguration("worker executable path is empty")
        }
        let ends: (Int32, Int32)
        do {
            ends = try Descriptors.cloexecSocketPair()
            try Descriptors.setNonBlocking(ends.0)
            try Descriptors.setNonBlocking(ends.1)
        } catch {
            throw .system(error)
        }
        self.configuration = configuration
        self.listener = listener
        self.logger = logger
        self.observer = observer
        self.controlReadEnd = ends.0
        self.controlWriteEnd = ends.1
        self.published = Locked(SupervisorSnapshot(phase: .notStarted, generation: 1, workers: []))
    }

    deinit {
        close(controlReadEnd)
        close(controlWriteEnd)
    }

    /// Runs the pool until it has stopped. Returns after a requested stop (signal or
    /// `requestStop()`) once every worker has exited; throws `.crashLoop` when it gave up.
    public func run(signals: SignalRelay? = nil) throws(SupervisorError) {
        let first = hasRun.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { throw .alreadyRan }
        let loop: SupervisorLoop
        do {
            loop = try SupervisorLoop(supervisor: self, signals: signals)
        } catch {
            listener.close()
            throw .system(error)
        }
        try loop.run()
    }

    /// Like SIGTERM: stop restarting, SIGTERM the workers, wait for them (up to the grace
    /// period, then SIGKILL), return from `run()`. A second request kills at once.
    public func requestStop() { send(.stop) }

    /// Like SIGHUP: replace every worker, one at a time, each only after its replacement
    /// announced ready.
    public func requestRollingRestart() { send(.rollingRestart) }

    /// The workers and phase as of the loop's last iteration.
    public var snapshot: SupervisorSnapshot { published.withLock { $0 } }

    func publish(_ snapshot: SupervisorSnapshot) { published.withLock { $0 = snapshot } }

    private func send(_ control: Control) {
        var byte = control.rawValue
        while write(controlWriteEnd, &byte, 1) < 0 && errno == EINTR {}
    }
}
