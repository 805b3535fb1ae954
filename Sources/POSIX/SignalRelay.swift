import Glibc
import Synchronization

/// Turns process signals into bytes on a descriptor (the self-pipe pattern), so a poll loop
/// (the supervisor's) or a waiting thread (a worker's) handles them as ordinary events,
/// outside signal context.
///
/// The handler only loads an atomic and calls `write(2)`, both async-signal-safe;
/// everything else (logging, spawning, stopping a server) happens elsewhere. The handler is
/// installed before `install` returns and the pipe buffers what arrives, so a signal sent
/// right after setup is never lost, whether or not anyone reads yet. Unlike `signalfd`, this
/// works whatever the signal masks of threads started earlier by Foundation or Dispatch are.
///
/// Signal dispositions are process-wide, so each signal is relayed by at most one relay at a
/// time (`install` throws `.alreadyInstalled` otherwise); relays for disjoint signals may
/// coexist. Their write ends live in `relaySlots`, the one global of this module.
public final class SignalRelay: Sendable {
    public let signals: [Int32]
    private let readEnd: Int32
    private let writeEnd: Int32
    private let installed = Locked(true)

    /// Installs handlers for `signals` (default: SIGTERM, SIGINT, SIGHUP).
    /// Throws `.alreadyInstalled` while another relay handles one of them.
    public static func install(_ signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]) throws(SignalRelayError) -> SignalRelay {
        guard signals.allSatisfy({ $0 > 0 && $0 < 65 }) else { throw .unsupportedSignal }
        let (readEnd, writeEnd): (Int32, Int32)
        do {
            (readEnd, writeEnd) = try Descriptors.cloexecSocketPair()
            try Descriptors.setNonBlocking(readEnd)
            try Descriptors.setNonBlocking(writeEnd)
        } catch {
            throw .system(error)
        }
        // Touching `relaySlots` here (its first touch runs swift_once) keeps that out of
        // signal context.
        var claimed: [Int32] = []
        for signal in signals {
            guard relaySlots.claim(signal, for: writeEnd) else {
                for taken in claimed { relaySlots.release(taken, from: writeEnd) }
                close(readEnd)
                close(writeEnd)
                throw .alreadyInstalled
            }
            claimed.append(signal)
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

    /// Blocks until at least one signal is pending and returns the pending ones (for a
    /// thread that does nothing but wait for them).
    public func waitForSignals() -> [Int32] {
        while true {
            var entry = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, -1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0, entry.revents & Int16(POLLIN) != 0 else { return [] }
            let pending = takePending()
            if !pending.isEmpty { return pending }
        }
    }

    /// Restores default dispositions and closes the descriptors. Idempotent. (Not while a
    /// thread is blocked in `waitForSignals()`.)
    public func uninstall() {
        let wasInstalled = installed.withLock { value -> Bool in
            defer { value = false }
            return value
        }
        guard wasInstalled else { return }
        for signal in signals {
            _ = Glibc.signal(signal, SIG_DFL)
            relaySlots.release(signal, from: writeEnd)
        }
        close(readEnd)
        close(writeEnd)
    }
}

public enum SignalRelayError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyInstalled
    case unsupportedSignal
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .alreadyInstalled: "a signal relay for one of these signals is already installed in this process"
        case .unsupportedSignal: "signal relay: signal numbers must be in 1...64"
        case .system(let error): "signal relay: \(error)"
        }
    }
}

/// One write descriptor (or -1) per signal number, 1...64. A signal handler cannot capture
/// context, so this process-wide table is the only way to reach a relay from one.
private let relaySlots = RelaySlots()

/// The atomics live in manually allocated memory (never freed: the table lives as long as
/// the process) because `Atomic` is non-copyable and cannot be an array element.
private final class RelaySlots: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Atomic<Int32>>
    let count = 65

    init() {
        slots = .allocate(capacity: count)
        for index in 0..<count { (slots + index).initialize(to: Atomic(-1)) }
    }

    func load(_ signal: Int32) -> Int32 { slots[Int(signal)].load(ordering: .relaxed) }

    func claim(_ signal: Int32, for fd: Int32) -> Bool {
        slots[Int(signal)].compareExchange(expected: -1, desired: fd, ordering: .sequentiallyConsistent).exchanged
    }

    func release(_ signal: Int32, from fd: Int32) {
        _ = slots[Int(signal)].compareExchange(expected: fd, desired: -1, ordering: .sequentiallyConsistent)
    }
}

private let relaySignalHandler: @convention(c) (Int32) -> Void = { signal in
    let savedErrno = errno
    if signal > 0 && signal < 65 {
        let fd = relaySlots.load(signal)
        if fd >= 0 {
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(fd, &byte, 1)
        }
    }
    errno = savedErrno
}
