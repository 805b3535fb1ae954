import POSIX

extension MonotonicTime {
    /// Seconds since `self` with one decimal, for log lines ("12.3s").
    var elapsedText: String { "\((elapsed * 10).rounded() / 10)s" }
}
