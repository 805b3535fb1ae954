import Glibc

/// Seconds on CLOCK_MONOTONIC: supervision deadlines must not jump with the wall clock.
struct MonotonicTime: Comparable, Sendable {
    let seconds: Double

    static func now() -> MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(seconds: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
    }

    static func < (a: MonotonicTime, b: MonotonicTime) -> Bool { a.seconds < b.seconds }
    static func + (a: MonotonicTime, b: Double) -> MonotonicTime { MonotonicTime(seconds: a.seconds + b) }
    static func - (a: MonotonicTime, b: MonotonicTime) -> Double { a.seconds - b.seconds }
}

extension Duration {
    /// The duration as (fractional) seconds, for arithmetic on `MonotonicTime`.
    var inSeconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
