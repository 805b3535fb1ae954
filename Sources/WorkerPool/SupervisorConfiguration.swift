import POSIX

/// How the supervisor runs and restarts workers. Defaults suit a model server whose
/// workers take seconds to minutes to load.
public struct SupervisorConfiguration: Sendable {
    public var command: WorkerCommand
    public var workerCount: Int
    public var backoff: RestartBackoff
    public var crashLoop: CrashLoopPolicy
    /// How long a replacement started by a rolling restart may take to announce ready
    /// before the rollout is abandoned (the old workers keep serving).
    public var readyTimeout: Duration
    /// How long workers get to finish in-flight requests after SIGTERM before SIGKILL.
    public var drainGracePeriod: Duration
    /// How often exited children are looked for when nothing else wakes the loop.
    public var reapInterval: Duration

    public init(
        command: WorkerCommand,
        workerCount: Int,
        backoff: RestartBackoff = RestartBackoff(),
        crashLoop: CrashLoopPolicy = CrashLoopPolicy(),
        readyTimeout: Duration = .seconds(600),
        drainGracePeriod: Duration = .seconds(30),
        reapInterval: Duration = .milliseconds(50)
    ) {
        self.command = command
        self.workerCount = workerCount
        self.backoff = backoff
        self.crashLoop = crashLoop
        self.readyTimeout = readyTimeout
        self.drainGracePeriod = drainGracePeriod
        self.reapInterval = reapInterval
    }
}

/// Exponential restart delay per worker slot.
///
/// The first death after a healthy run restarts at once (a killed worker should be
/// back quickly); each further death in a row waits `initial`, `2 × initial`, … up to
/// `maximum`. A worker that stayed ready for `resetAfter` clears the count.
public struct RestartBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var resetAfter: Duration

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30), resetAfter: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
        self.resetAfter = resetAfter
    }

    /// Delay before restarting after the `consecutiveDeaths`-th death in a row (1-based).
    public func delay(afterConsecutiveDeaths consecutiveDeaths: Int) -> Duration {
        guard consecutiveDeaths > 1 else { return .zero }
        let exponent = min(consecutiveDeaths - 2, 30)
        let seconds = initial.inSeconds * Double(1 << exponent)
        return seconds >= maximum.inSeconds ? maximum : .nanoseconds(Int64(seconds * 1e9))
    }
}

/// When restarting is pointless: workers die before ever announcing ready.
///
/// The supervisor gives up (stops everything, `run()` throws `SupervisorError.crashLoop`)
/// when `maximumDeaths` never-ready deaths fall within `window`, or when
/// `maximumConsecutiveFailedStarts` workers in a row die before ready with no worker
/// becoming ready in between (which catches slow loops that backoff spreads thinner
/// than the window).
public struct CrashLoopPolicy: Sendable, Equatable {
    public var maximumDeaths: Int
    public var window: Duration
    public var maximumConsecutiveFailedStarts: Int

    public init(maximumDeaths: Int = 5, window: Duration = .seconds(60), maximumConsecutiveFailedStarts: Int = 10) {
        self.maximumDeaths = maximumDeaths
        self.window = window
        self.maximumConsecutiveFailedStarts = maximumConsecutiveFailedStarts
    }
}
