import Glibc

/// One long-lived thread that runs the closures handed to `run`, one at a time in the order they
/// came, while each caller blocks for its own result.
///
/// Why the service needs it: libgomp (the OpenMP runtime libtorch's CPU operators use) keeps one
/// team of helper threads per thread that starts parallel work. With the batcher's leader/follower
/// hand-off, any of a worker's FastCGI threads could run a forward pass, so a worker grew a team
/// per FastCGI thread; the previous leader's helpers spun on the cores for milliseconds after its
/// pass while the next leader's helpers had to be woken by futex. Measured on the full-size model
/// (2 threads, 32-token query): ~9 % of the worker's samples in the scheduler's wake-up path and
/// queries ~1.5x slower than the same forward pass in one thread. All forward passes on one
/// thread use one team.
///
/// Invariants: at most one closure runs at a time, always on `thread`; a closure submitted from
/// that thread itself runs inline (no deadlock); `stop()` lets queued closures finish, then joins.
public final class SerialThread: @unchecked Sendable {
    private final class Job: @unchecked Sendable {
        /// Taken (and released) by the thread before `done` is set: `run`'s closure must not
        /// outlive the call (`withoutActuallyEscaping` checks that it did not escape).
        private var body: (() -> Void)?
        var done = false
        init(_ body: @escaping () -> Void) { self.body = body }

        func execute() {
            let body = self.body
            self.body = nil
            body?()
        }
    }
    private struct State {
        var queue: [Job] = []
        var stopping = false
    }

    private let state = Locked(State())
    private let thread: pthread_t

    /// Starts the thread; `subject` names it in errors.
    public init(subject: String, stackBytes: Int = 8 << 20) throws(SystemCallError) {
        thread = try spawnThread(subject: subject, stackBytes: stackBytes) { [state] in Self.loop(state) }
    }

    deinit { stop() }

    /// Whether the calling thread is this one.
    public var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Runs `body` on the thread and returns its result (or rethrows its error) to the caller.
    public func run<T>(_ body: () throws -> T) throws -> T {
        if isCurrent { return try body() }
        return try withoutActuallyEscaping(body) { escapable in
            var result: Result<T, any Error>?
            let job = Job { result = Result { try escapable() } }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.queue.append(job)
                return true
            }
            guard accepted else { throw SerialThreadError.stopped }
            state.wait(until: { _ in job.done }) { _ in }
            return try result!.get()
        }
    }

    /// Finishes the queued closures, ends the thread and joins it; later `run` calls throw.
    /// Called on the thread itself (the last reference dropped inside a closure), it detaches
    /// instead: the thread ends after that closure.
    public func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        if isCurrent { pthread_detach(thread) } else { pthread_join(thread, nil) }
    }

    private static func loop(_ state: Locked<State>) {
        while true {
            let job: Job? = state.wait(until: { !$0.queue.isEmpty || $0.stopping }) { state in
                state.queue.isEmpty ? nil : state.queue.removeFirst()
            }
            guard let job else { return }
            job.execute()
            state.withLock { _ in job.done = true }
        }
    }
}

/// `SerialThread.run` after `stop()`.
public enum SerialThreadError: Error, Sendable, CustomStringConvertible {
    case stopped
    public var description: String { "the serial thread has stopped" }
}
