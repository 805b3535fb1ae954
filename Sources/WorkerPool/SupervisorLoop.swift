import Glibc
import Logging
import POSIX

/// One worker process tracked by the loop. A class: it moves between a slot's
/// `active`/`replacement` places and the `retiring` list without copies going stale.
final class TrackedWorker {
    let slot: Int
    let pid: pid_t
    let generation: Int
    let spawnedAt: MonotonicTime
    /// The master's end of the readiness socket, until ready or EOF.
    var readyChannel: Int32?
    var readyBytes: [UInt8] = []
    var readyAt: MonotonicTime?
    /// Set when SIGTERM was sent: SIGKILL follows at this time.
    var terminateDeadline: MonotonicTime?
    /// Set when SIGKILL was sent.
    var killedAt: MonotonicTime?

    init(slot: Int, pid: pid_t, generation: Int, spawnedAt: MonotonicTime, readyChannel: Int32) {
        self.slot = slot
        self.pid = pid
        self.generation = generation
        self.spawnedAt = spawnedAt
        self.readyChannel = readyChannel
    }

    var isReady: Bool { readyAt != nil }

    func closeReadyChannel() {
        if let fd = readyChannel { close(fd) }
        readyChannel = nil
    }

    var state: WorkerSnapshot.State {
        terminateDeadline != nil ? .draining : (isReady ? .ready : .starting)
    }
}

/// The supervisor's state machine; lives on the thread that called `Supervisor.run()`.
///
/// Each slot wants one live worker (`active`). A rolling restart adds a `replacement`
/// to one slot at a time; when it announces ready it becomes `active` and the old one
/// moves to `retiring` (SIGTERM, then SIGKILL after the grace period). The next slot
/// is replaced only when nothing is retiring, so at most N+1 workers exist and at
/// least N-1 of them are serving.
final class SupervisorLoop {
    struct Slot {
        var active: TrackedWorker?
        var replacement: TrackedWorker?
        var consecutiveDeaths = 0
        var restartAt: MonotonicTime?
    }

    enum Phase { case running, stopping }

    /// How long a SIGKILLed worker may take to be reaped before it is given up on.
    static let reapAfterKillLimit = 10.0

    private let supervisor: Supervisor
    private let configuration: SupervisorConfiguration
    private let logger: Logger
    private let signals: SignalRelay?
    private let lifeline: (readEnd: Int32, writeEnd: Int32)

    private var slots: [Slot]
    private var retiring: [TrackedWorker] = []
    private var phase = Phase.running
    private var generation = 1
    private var rolloutGeneration: Int?
    private var unreadyDeaths: [MonotonicTime] = []
    private var consecutiveFailedStarts = 0
    private var failure: SupervisorError?

    init(supervisor: Supervisor, signals: SignalRelay?) throws(SystemCallError) {
        self.supervisor = supervisor
        self.configuration = supervisor.configuration
        self.logger = supervisor.logger
        self.signals = signals
        self.lifeline = try Descriptors.cloexecSocketPair()
        self.slots = Array(repeating: Slot(), count: configuration.workerCount)
    }

    deinit {
        close(lifeline.readEnd)
        close(lifeline.writeEnd)
    }

    // MARK: - Main loop

    func run() throws(SupervisorError) {
        let command = configuration.command
        logger.info(
            "pool: starting \(configuration.workerCount) worker(s) on \(supervisor.listener.address): \(([command.executable] + command.arguments).joined(separator: " "))"
        )
        let start = MonotonicTime.now()
        // A failed spawn can end in giving up; then no further worker is started.
        for slot in slots.indices where phase == .running { slots[slot].active = spawn(slot: slot, now: start) }

        while true {
            var now = MonotonicTime.now()
            reapExited(now: now)
            if phase == .stopping && allWorkers.isEmpty { break }
            now = MonotonicTime.now()
            handleTimers(now: now)
            if phase == .running { advanceRollout(now: now) }
            publish()
            waitForEvents(timeout: nextTimeout(now: MonotonicTime.now()))
        }

        supervisor.listener.close()
        publish(phase: .stopped)
        emit(.stopped)
        logger.info("pool: all workers stopped")
        if let failure { throw failure }
    }

    private var allWorkers: [TrackedWorker] {
        slots.flatMap { [$0.active, $0.replacement].compactMap { $0 } } + retiring
    }

    // MARK: - Spawning

    /// Spawns a worker for `slot` at the current generation; on failure records a failed
    /// start (which may end in giving up) and schedules a retry.
    private func spawn(slot: Int, now: MonotonicTime, asReplacement: Bool = false) -> TrackedWorker? {
        do throws(SystemCallError) {
            let (parentEnd, childEnd) = try Descriptors.cloexecSocketPair()
            defer { close(childEnd) }
            do throws(SystemCallError) {
                try Descriptors.setNonBlocking(parentEnd)
                let pid = try WorkerSpawner.spawn(
                    configuration.command,
                    extraEnvironment: [
                        WorkerHandshake.Variable.readyDescriptor: String(WorkerHandshake.readyDescriptor),
                        WorkerHandshake.Variable.lifelineDescriptor: String(WorkerHandshake.lifelineDescriptor),
                        WorkerHandshake.Variable.index: String(slot),
                        WorkerHandshake.Variable.generation: String(generation),
                    ],
                    descriptors: .init(
                        listener: supervisor.listener.fileDescriptor,
                        readyWriteEnd: childEnd,
                        lifelineReadEnd: lifeline.readEnd))
                logger.info("worker \(slot) spawned: pid \(pid), generation \(generation)\(asReplacement ? " (replacement)" : "")")
                emit(.spawned(slot: slot, pid: pid, generation: generation))
                return TrackedWorker(slot: slot, pid: pid, generation: generation, spawnedAt: now, readyChannel: parentEnd)
            } catch {
                close(parentEnd)
                throw error
            }
        } catch {
            logger.error("worker \(slot) could not be started: \(error)")
            emit(.spawnFailed(slot: slot, error: error))
            if asReplacement {
                abandonRollout(reason: "replacement for worker \(slot) could not be started: \(error)")
            } else {
                recordDeath(slot: slot, wasReady: false, readyFor: 0, what: "spawn failed: \(error)", now: now)
            }
            return nil
        }
    }

    // MARK: - Exits

    private func reapExited(now: MonotonicTime) {
        for worker in allWorkers {
            var status: Int32 = 0
            let rc = waitpid(worker.pid, &status, WNOHANG)
            if rc == worker.pid {
                handleExit(worker, status: ProcessExitStatus(waitStatus: status), now: now)
            } else if rc < 0 && errno == ECHILD {
                handleExit(worker, status: .unknown, now: now)
            } else if let killedAt = worker.killedAt, now - killedAt > Self.reapAfterKillLimit {
                logger.error(
                    "worker \(worker.slot) (pid \(worker.pid)) has not exited \(Int(Self.reapAfterKillLimit)) s after SIGKILL; no longer waiting for it"
                )
                handleExit(worker, status: .unknown, now: now)
            }
        }
    }

    private func handleExit(_ worker: TrackedWorker, status: ProcessExitStatus, now: MonotonicTime) {
        if !worker.isReady { readReadiness(worker, now: now) }  // a "ready" written just before dying
        worker.closeReadyChannel()
        let wasReady = worker.isReady
        emit(.exited(slot: worker.slot, pid: worker.pid, status: status, wasReady: wasReady))

        if let index = retiring.firstIndex(where: { $0 === worker }) {
            retiring.remove(at: index)
            logger.info("worker \(worker.slot) (pid \(worker.pid)) exited: \(status)")
            return
        }
        let slot = worker.slot
        if slots[slot].replacement === worker {
            slots[slot].replacement = nil
            logger.error("worker \(slot) replacement (pid \(worker.pid)) exited before ready: \(status)")
            abandonRollout(reason: "replacement for worker \(slot) exited before ready: \(status)")
            return
        }
        guard slots[slot].active === worker else { return }
        slots[slot].active = nil
        if phase == .stopping || worker.terminateDeadline != nil {
            logger.info("worker \(slot) (pid \(worker.pid)) exited: \(status)")
            return
        }
        logger.error("worker \(slot) (pid \(worker.pid)) died: \(status)\(wasReady ? "" : " before becoming ready")")
        if let replacement = slots[slot].replacement {
            // Mid-rollout: the replacement simply takes the slot over.
            slots[slot].replacement = nil
            slots[slot].active = replacement
        }
        let readyFor = worker.readyAt.map { now - $0 } ?? 0
        recordDeath(slot: slot, wasReady: wasReady, readyFor: readyFor, what: "pid \(worker.pid), \(status)", now: now)
    }

    /// Counts a death (or failed spawn) for backoff and crash-loop detection, and
    /// schedules the slot's restart unless the slot is already occupied again.
    private func recordDeath(slot: Int, wasReady: Bool, readyFor: Double, what: String, now: MonotonicTime) {
        guard phase == .running else { return }
        if !wasReady {
            unreadyDeaths.append(now)
            consecutiveFailedStarts += 1
            let policy = configuration.crashLoop
            let window = policy.window.inSeconds
            unreadyDeaths.removeAll { now - $0 > window }
            if unreadyDeaths.count >= policy.maximumDeaths {
                giveUp(
                    reason:
                        "\(unreadyDeaths.count) workers died within \(format(window)) s without becoming ready (last: worker \(slot), \(what))",
                    now: now)
                return
            }
            if consecutiveFailedStarts >= policy.maximumConsecutiveFailedStarts {
                giveUp(
                    reason: "\(consecutiveFailedStarts) worker starts in a row failed before ready (last: worker \(slot), \(what))",
                    now: now)
                return
            }
        }
        if wasReady && readyFor >= configuration.backoff.resetAfter.inSeconds {
            slots[slot].consecutiveDeaths = 0
        }
        slots[slot].consecutiveDeaths += 1
        guard slots[slot].active == nil else { return }
        let deaths = slots[slot].consecutiveDeaths
        let delay = configuration.backoff.delay(afterConsecutiveDeaths: deaths)
        slots[slot].restartAt = now + delay.inSeconds
        logger.warning("worker \(slot): restarting in \(format(delay.inSeconds)) s (death \(deaths) in a row)")
        emit(.restartScheduled(slot: slot, delay: delay, consecutiveDeaths: deaths))
    }

    private func giveUp(reason: String, now: MonotonicTime) {
        logger.critical("workers are crash-looping, giving up: \(reason)")
        emit(.gaveUp(reason: reason))
        failure = .crashLoop(reason: reason)
        beginStop(reason: "crash loop", now: now)
    }

    // MARK: - Timers

    private func handleTimers(now: MonotonicTime) {
        if phase == .running {
            for slot in slots.indices {
                guard let due = slots[slot].restartAt, due <= now, slots[slot].active == nil else { continue }
                slots[slot].restartAt = nil
                slots[slot].active = spawn(slot: slot, now: now)
                if phase != .running { return }
            }
            let timeout = configuration.readyTimeout.inSeconds
            for slot in slots.indices {
                guard let replacement = slots[slot].replacement, !replacement.isReady,
                    now - replacement.spawnedAt >= timeout
                else { continue }
                slots[slot].replacement = nil
                logger.error("worker \(slot) replacement (pid \(replacement.pid)) not ready after \(format(timeout)) s; killing it")
                kill(replacement.pid, SIGKILL)
                replacement.terminateDeadline = now
                replacement.killedAt = now
                retiring.append(replacement)
                abandonRollout(reason: "replacement for worker \(slot) not ready within \(format(timeout)) s")
            }
        }
        for worker in allWorkers {
            guard let deadline = worker.terminateDeadline, deadline <= now, worker.killedAt == nil else { continue }
            logger.warning(
                "worker \(worker.slot) (pid \(worker.pid)) still running after the \(format(configuration.drainGracePeriod.inSeconds)) s grace period; sending SIGKILL"
            )
            kill(worker.pid, SIGKILL)
            worker.killedAt = now
            emit(.killed(slot: worker.slot, pid: worker.pid))
        }
    }

    private func nextTimeout(now: MonotonicTime) -> Double {
        var timeout = configuration.reapInterval.inSeconds
        func consider(_ time: MonotonicTime?) {
            if let time { timeout = min(timeout, time - now) }
        }
        for slot in slots {
            if phase == .running { consider(slot.restartAt) }
            if let replacement = slot.replacement, !replacement.isReady {
                consider(replacement.spawnedAt + configuration.readyTimeout.inSeconds)
            }
        }
        for worker in allWorkers where worker.killedAt == nil { consider(worker.terminateDeadline) }
        return max(0, timeout)
    }

    // MARK: - Events from descriptors

    private func waitForEvents(timeout: Double) {
        var watched: [(fd: Int32, worker: TrackedWorker?)] = [(supervisor.controlReadEnd, nil)]
        if let signals { watched.append((signals.fileDescriptor, nil)) }
        for worker in allWorkers { if let fd = worker.readyChannel { watched.append((fd, worker)) } }
        var fds = watched.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        let milliseconds = Int32(min(timeout * 1000, 60_000).rounded(.up))
        let count = poll(&fds, nfds_t(fds.count), milliseconds)
        guard count > 0 else { return }
        let now = MonotonicTime.now()
        for (index, entry) in watched.enumerated() where fds[index].revents != 0 {
            if let worker = entry.worker {
                readReadiness(worker, now: now)
            } else if entry.fd == supervisor.controlReadEnd {
                for byte in drain(entry.fd) {
                    switch Supervisor.Control(rawValue: byte) {
                    case .stop: beginStop(reason: "stop requested", now: now)
                    case .rollingRestart: beginRollout(reason: "restart requested", now: now)
                    case nil: break
                    }
                }
            } else if let signals {
                for signal in signals.takePending() {
                    switch signal {
                    case SIGHUP: beginRollout(reason: "\(signalName(signal)) received", now: now)
                    case SIGTERM, SIGINT, SIGQUIT: beginStop(reason: "\(signalName(signal)) received", now: now)
                    default: logger.info("pool: ignoring \(signalName(signal))")
                    }
                }
            }
        }
    }

    private func drain(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                result += buffer[0..<n]
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return result
        }
    }

    /// Reads what the worker wrote on its readiness channel; "ready\n" marks it ready.
    private func readReadiness(_ worker: TrackedWorker, now: MonotonicTime) {
        guard let fd = worker.readyChannel else { return }
        var buffer = [UInt8](repeating: 0, count: 64)
        var endOfFile = false
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                worker.readyBytes += buffer[0..<n]
                if worker.readyBytes.count > 256 { worker.readyBytes.removeFirst(worker.readyBytes.count - 256) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            endOfFile = n == 0
            break
        }
        let text = String(decoding: worker.readyBytes, as: UTF8.self)
        if text.contains(WorkerHandshake.readyLine) || (endOfFile && text.hasPrefix("ready")) {
            markReady(worker, now: now)
        } else if endOfFile {
            worker.closeReadyChannel()
            logger.warning("worker \(worker.slot) (pid \(worker.pid)) closed its readiness descriptor without announcing ready")
        }
    }

    private func markReady(_ worker: TrackedWorker, now: MonotonicTime) {
        worker.closeReadyChannel()
        guard !worker.isReady, worker.terminateDeadline == nil else { return }
        worker.readyAt = now
        consecutiveFailedStarts = 0
        logger.info("worker \(worker.slot) ready: pid \(worker.pid) after \(format(now - worker.spawnedAt)) s")
        emit(.ready(slot: worker.slot, pid: worker.pid))
        let slot = worker.slot
        guard slots[slot].replacement === worker else { return }
        slots[slot].replacement = nil
        let old = slots[slot].active
        slots[slot].active = worker
        if let old {
            logger.info("worker \(slot) replaced: pid \(worker.pid) serving, draining pid \(old.pid)")
            terminate(old, now: now)
            retiring.append(old)
        }
    }

    // MARK: - Stop and rollout

    private func terminate(_ worker: TrackedWorker, now: MonotonicTime) {
        guard worker.terminateDeadline == nil else { return }
        kill(worker.pid, SIGTERM)
        worker.terminateDeadline = now + configuration.drainGracePeriod.inSeconds
        emit(.terminating(slot: worker.slot, pid: worker.pid))
    }

    private func beginStop(reason: String, now: MonotonicTime) {
        if phase == .stopping {
            let remaining = allWorkers.filter { $0.killedAt == nil }
            guard !remaining.isEmpty else { return }
            logger.warning("pool: second stop request; killing \(remaining.count) worker(s) now")
            for worker in remaining {
                kill(worker.pid, SIGKILL)
                worker.killedAt = now
                emit(.killed(slot: worker.slot, pid: worker.pid))
            }
            return
        }
        phase = .stopping
        rolloutGeneration = nil
        for slot in slots.indices { slots[slot].restartAt = nil }
        // New connections are refused at once (nginx answers 502/503) while in-flight
        // requests finish on the descriptors the workers still hold.
        supervisor.listener.removePath()
        let workers = allWorkers
        logger.info(
            "pool: stopping (\(reason)); draining \(workers.count) worker(s), grace \(format(configuration.drainGracePeriod.inSeconds)) s")
        emit(.stopping(reason: reason))
        for worker in workers { terminate(worker, now: now) }
    }

    private func beginRollout(reason: String, now: MonotonicTime) {
        guard phase == .running else {
            logger.info("pool: ignoring restart request while stopping")
            return
        }
        generation += 1
        rolloutGeneration = generation
        logger.info("pool: rolling restart to generation \(generation) (\(reason))")
        emit(.rolloutStarted(generation: generation))
    }

    private func abandonRollout(reason: String) {
        guard let target = rolloutGeneration else { return }
        rolloutGeneration = nil
        logger.error("pool: rolling restart to generation \(target) abandoned: \(reason); the other workers keep serving")
        emit(.rolloutAbandoned(generation: target, reason: reason))
    }

    /// Starts the next replacement when the previous step has fully finished.
    private func advanceRollout(now: MonotonicTime) {
        guard let target = rolloutGeneration, retiring.isEmpty,
            !slots.contains(where: { $0.replacement != nil })
        else { return }
        guard let slot = slots.indices.first(where: { (slots[$0].active?.generation ?? target) < target }) else {
            rolloutGeneration = nil
            logger.info("pool: rolling restart to generation \(target) finished")
            emit(.rolloutFinished(generation: target))
            return
        }
        slots[slot].replacement = spawn(slot: slot, now: now, asReplacement: true)
    }

    // MARK: - Publishing

    private func publish(phase snapshotPhase: SupervisorSnapshot.Phase? = nil) {
        var workers: [WorkerSnapshot] = []
        for slot in slots {
            for worker in [slot.active, slot.replacement].compactMap({ $0 }) {
                workers.append(WorkerSnapshot(slot: worker.slot, pid: worker.pid, generation: worker.generation, state: worker.state))
            }
        }
        for worker in retiring {
            workers.append(WorkerSnapshot(slot: worker.slot, pid: worker.pid, generation: worker.generation, state: worker.state))
        }
        let phaseValue = snapshotPhase ?? (phase == .running ? .running : .stopping)
        supervisor.publish(SupervisorSnapshot(phase: phaseValue, generation: generation, workers: workers))
    }

    private func emit(_ event: SupervisorEvent) { supervisor.observer?(event) }

    private func format(_ seconds: Double) -> String {
        let rounded = (seconds * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
