import Glibc

/// How a worker process ended, decoded from a `waitpid` status.
///
/// The W* macros are not importable into Swift, so the Linux encoding is decoded here:
/// low 7 bits are the terminating signal (0 = normal exit), bits 8–15 the exit code,
/// bit 7 the core-dump flag.
public enum ProcessExitStatus: Sendable, Hashable, CustomStringConvertible {
    case exited(code: Int32)
    case signaled(signal: Int32, coreDumped: Bool)
    /// The status was lost (someone else reaped the child: `ECHILD`).
    case unknown

    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        if signal == 0 {
            self = .exited(code: (status >> 8) & 0xff)
        } else {
            self = .signaled(signal: signal, coreDumped: (status & 0x80) != 0)
        }
    }

    /// True for a clean `exit(0)`.
    public var isSuccess: Bool { self == .exited(code: 0) }

    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal, let core): "signal \(signalName(signal))\(core ? " (core dumped)" : "")"
        case .unknown: "unknown status (already reaped)"
        }
    }
}

/// "SIGKILL (9)"-style names for log lines; `strsignal` text is locale-dependent prose.
public func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
        SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
        SIGCHLD: "SIGCHLD", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
    ]
    return "\(names[signal] ?? "SIG?") (\(signal))"
}
