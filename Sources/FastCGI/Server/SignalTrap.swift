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

    public init(_ signals: [Int32], queue: DispatchQueue = .global(), handler: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    public func cancel() {
        for source in sources where !source.isCancelled { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }

    deinit {
        cancel()
    }
}
