import Glibc
import Synchronization

/// Turns process signals into bytes on a descriptor (the self-pipe pattern), so the
/// supervisor's poll loop handles them as ordinary events on its own thread.
///
/// The handler only loads an atomic and calls `write(2)`, both async-signal-safe;
/// everything else (logging, spawning, waiting) happens outside signal context.
/// Unlike `signalfd`, this works whatever the signal masks of threads started
/// earlier by Foundation or Dispatch are.
///
/// Signal dispositions are process-wide, so at most one relay is installed at a time;
/// the write end lives in `relayWriteDescriptor`, the one global this module has.
public final class SignalRelay: Sendable {
    public let signals: [Int32]
    private let readEnd: Int32
    private let writeEnd: Int32
    private let installed = Mutex(true)

    /// Installs handlers for `signals` (default: SIGTERM, SIGINT, SIGHUP).
    /// Throws `.alreadyInstalled` while another relay is active.
    public static func install(_ signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]) throws(SignalRelayError) -> SignalRelay {
        let (readEnd, writeEnd): (Int32, Int32)
        do {
            (readEnd, writeEnd) = try Descriptors.cloexecSocketPair()
            try Descriptors.setNonBlocking(readEnd)
            try Descriptors.setNonBlocking(writeEnd)
        } catch {
            throw .system(error)
        }
        // Initialising the global here (first touch runs swift_once) keeps that out of
        // signal context.
        guard relayWriteDescriptor.compareExchange(expected: -1, desired: writeEnd, ordering: .sequentiallyConsistent).exchanged else {
            close(readEnd)
            close(writeEnd)
            throw .alreadyInstalled
        }
        for signal in signals { _ = Glibc.signal(signal, relaySignalHandler) }
        return SignalRelay(signals: signals, readEnd: readEnd, writeEnd: writeEnd)
    }

    private init(signals: [Int32], readEnd: Int32, writeEnd: Int32) {
        self.signals = signals
        self.readEnd = readEnd
        self.writeEnd = writeEnd
    }

    deinit { uninstall() }

    /// Readable when at least one signal is pending.
    public var fileDescriptor: Int32 { readEnd }

    /// Signals received since the last call, in arrival order (non-blocking).
    public func takePending() -> [Int32] {
        var result: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n > 0 {
                result += buffer[0..<n].map { Int32($0) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return result
        }
    }

    /// Restores default dispositions and closes the descriptors. Idempotent.
    public func uninstall() {
        let wasInstalled = installed.withLock { value -> Bool in
            defer { value = false }
            return value
        }
        guard wasInstalled else { return }
        for signal in signals { _ = Glibc.signal(signal, SIG_DFL) }
        _ = relayWriteDescriptor.compareExchange(expected: writeEnd, desired: -1, ordering: .sequentiallyConsistent)
        close(readEnd)
        close(writeEnd)
    }
}

public enum SignalRelayError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyInstalled
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .alreadyInstalled: "a signal relay is already installed in this process"
        case .system(let error): "signal relay: \(error)"
        }
    }
}

/// Write end of the installed relay, or -1. A signal handler cannot capture context,
/// so this process-wide value is the only way to reach the relay from one.
private let relayWriteDescriptor = Atomic<Int32>(-1)

private let relaySignalHandler: @convention(c) (Int32) -> Void = { signal in
    let savedErrno = errno
    let fd = relayWriteDescriptor.load(ordering: .relaxed)
    if fd >= 0 {
        var byte = UInt8(truncatingIfNeeded: signal)
        _ = write(fd, &byte, 1)
    }
    errno = savedErrno
}
