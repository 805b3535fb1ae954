import POSIX

/// What the supervisor did, for observers (tests, metrics). Every event is also logged.
public enum SupervisorEvent: Sendable, Equatable {
    case spawned(slot: Int, pid: Int32, generation: Int)
    case spawnFailed(slot: Int, error: SystemCallError)
    case ready(slot: Int, pid: Int32)
    case exited(slot: Int, pid: Int32, status: ProcessExitStatus, wasReady: Bool)
    case restartScheduled(slot: Int, delay: Duration, consecutiveDeaths: Int)
    case rolloutStarted(generation: Int)
    case rolloutFinished(generation: Int)
    case rolloutAbandoned(generation: Int, reason: String)
    case terminating(slot: Int, pid: Int32)
    case killed(slot: Int, pid: Int32)
    case stopping(reason: String)
    case gaveUp(reason: String)
    case stopped
}

/// One worker process as the supervisor sees it.
public struct WorkerSnapshot: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Spawned, has not announced ready yet.
        case starting
        /// Accepting requests.
        case ready
        /// Sent SIGTERM; finishing in-flight requests.
        case draining
    }

    public let slot: Int
    public let pid: Int32
    public let generation: Int
    public let state: State
}

/// The pool at one moment; `workers` is ordered by slot, replacements after the worker they replace.
public struct SupervisorSnapshot: Sendable, Equatable {
    public enum Phase: String, Sendable { case notStarted, running, stopping, stopped }

    public let phase: Phase
    public let generation: Int
    public let workers: [WorkerSnapshot]

    public var readyCount: Int { workers.filter { $0.state == .ready }.count }
}

public enum SupervisorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Workers kept dying before becoming ready; `reason` says how many and how fast.
    case crashLoop(reason: String)
    case alreadyRan
    case invalidConfiguration(String)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .crashLoop(let reason): "workers are crash-looping, giving up: \(reason)"
        case .alreadyRan: "a Supervisor runs once"
        case .invalidConfiguration(let message): "invalid supervisor configuration: \(message)"
        case .system(let error): error.description
        }
    }
}
