import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns process signals into calls on a dispatch queue, e.g. SIGTERM/SIGINT →
/// `server.stop()` for a graceful drain, SIGHUP → reload. The signals' default action is
/// replaced by "ignore" for as long as the trap lives, so they no longer kill the process;
/// `cancel()` (or releasing the trap) restores the default action.
///
/// Handlers run on `queue`, not in signal context, so they may take locks and log.
public final class SignalTrap: @unchecked Sendable {
    // DispatchSourceSignal is thread-safe but not annotated Sendable.
    private let sources: [DispatchSourceSignal]
    private let signals: [Int32]

    /// Returns once every source is registered. On Linux, libdispatch installs its own handler
    /// for a signal when the first source for it registers (asynchronously, on its manager
    /// thread) and routes the signal to a signalfd from then on; until that moment the signal
    /// is only ignored, and one sent meanwhile would be lost. (So each signal can be trapped
    /// reliably once per process, which is how the worker uses it.)
    public init(_ signals: [Int32], queue: DispatchQueue = .global(), handler: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        let registered = DispatchSemaphore(value: 0)
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.setRegistrationHandler { registered.signal() }
            source.resume()
            return source
        }
        for _ in signals { _ = registered.wait(timeout: .now() + 5) }
    }

    public func cancel() {
        for source in sources where !source.isCancelled { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }

    deinit {
        cancel()
    }
}
