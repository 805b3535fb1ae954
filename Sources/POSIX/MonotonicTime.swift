import Glibc

/// Seconds on CLOCK_MONOTONIC: deadlines and request timings must not jump with the wall clock.
///
/// The one clock of both roles: the supervisor's deadlines and backoff, the FastCGI server's
/// per-request times.
public struct MonotonicTime: Comparable, Sendable {
    public let seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    public static func now() -> MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(seconds: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
    }

    /// Seconds elapsed since `self`.
    public var elapsed: Double { MonotonicTime.now() - self }

    public static func < (a: MonotonicTime, b: MonotonicTime) -> Bool { a.seconds < b.seconds }
    public static func + (a: MonotonicTime, b: Double) -> MonotonicTime { MonotonicTime(seconds: a.seconds + b) }
    public static func - (a: MonotonicTime, b: MonotonicTime) -> Double { a.seconds - b.seconds }
}

extension Duration {
    /// The duration as (fractional) seconds, for arithmetic on `MonotonicTime`.
    public var inSeconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
