import Foundation

/// What the benchmarks read about their own process: CPU time of all threads, and the resident set
/// (Linux `/proc/self/status`).
public enum ProcessMetrics {
    /// CPU time used by this process so far, all threads, in milliseconds.
    public static func cpuMilliseconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) * 1e3 + Double(spec.tv_nsec) * 1e-6
    }

    /// Current (VmRSS) and peak (VmHWM) resident set of this process, bytes; 0 where unknown.
    public static func residentMemory() -> (current: Int, peak: Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func kilobytes(_ key: String) -> Int {
            for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
                let digits = line.dropFirst(key.count + 1).filter(\.isNumber)
                return (Int(digits) ?? 0) * 1024
            }
            return 0
        }
        return (kilobytes("VmRSS"), kilobytes("VmHWM"))
    }
}

extension Duration {
    public var milliseconds: Double {
        Double(components.seconds) * 1e3 + Double(components.attoseconds) * 1e-15
    }
}
