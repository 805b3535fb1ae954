import Foundation

/// The CPUs this process may use: its affinity mask, cut down by a cgroup CPU quota.
///
/// A container limited with `--cpus 2` on a 64-core host still sees 64 CPUs in its mask;
/// only the cgroup quota (`cpu.max` in cgroup v2, `cpu.cfs_quota_us / cpu.cfs_period_us` in
/// v1) says it gets two CPUs' worth of time. Both are read from files under `root` (normally
/// `/`), so tests can fake `/proc/self` and `/sys/fs/cgroup`. The mask comes from
/// `/proc/self/status` (`Cpus_allowed_list`, what `sched_getaffinity` returns for the thread
/// reading it: the main thread, at start-up).
public struct CPUBudget: Sendable, Equatable, CustomStringConvertible {
    /// CPUs in the affinity mask (nil when it could not be read).
    public let allowed: Int?
    /// CPUs' worth of time the cgroup quota grants (e.g. 1.5), nil when unlimited or unknown.
    public let quota: Double?
    /// Where the quota came from (a file path), for the log.
    public let quotaSource: String?

    public init(allowed: Int?, quota: Double? = nil, quotaSource: String? = nil) {
        self.allowed = allowed
        self.quota = quota
        self.quotaSource = quotaSource
    }

    /// Whole CPUs the process can keep busy: the smaller of the mask and the quota (a quota of
    /// 1.5 counts as 1: a second thread would be throttled for half of each period), at least 1.
    public var cpus: Int {
        let fromMask = allowed ?? ProcessInfo.processInfo.activeProcessorCount
        guard let quota else { return max(1, fromMask) }
        return max(1, min(fromMask, Int(quota.rounded(.down))))
    }

    public var description: String {
        var text = "\(cpus) CPU\(cpus == 1 ? "" : "s")"
        var parts: [String] = []
        if let allowed { parts.append("affinity mask \(allowed)") }
        if let quota { parts.append("cgroup quota \(String(format: "%.2f", quota))\(quotaSource.map { " (\($0))" } ?? "")") }
        if !parts.isEmpty { text += " (" + parts.joined(separator: ", ") + ")" }
        return text
    }

    /// Reads the budget of the calling process.
    public static func current(root: String = "/") -> CPUBudget {
        let reader = Reader(root: root)
        let allowed = reader.allowedCPUs()
        let (quota, source) = reader.cgroupQuota()
        return CPUBudget(allowed: allowed, quota: quota, quotaSource: source)
    }

    /// CPUs in a list such as "0-3,8,10-11"; nil when it does not parse.
    static func count(cpuList: String) -> Int? {
        var total = 0
        for part in cpuList.split(separator: ",") {
            let bounds = part.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "-")
            guard let first = bounds.first.flatMap({ Int($0) }) else { return nil }
            switch bounds.count {
            case 1: total += 1
            case 2:
                guard let last = Int(bounds[1]), last >= first else { return nil }
                total += last - first + 1
            default: return nil
            }
        }
        return total > 0 ? total : nil
    }

    private struct Reader {
        let root: String

        func read(_ path: String) -> String? {
            let full = (root as NSString).appendingPathComponent(path)
            return try? String(contentsOfFile: full, encoding: .utf8)
        }

        func allowedCPUs() -> Int? {
            guard let status = read("proc/self/status") else { return nil }
            for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
                return CPUBudget.count(cpuList: String(line.dropFirst("Cpus_allowed_list:".count)))
            }
            return nil
        }

        /// The tightest quota on the way from this process's cgroup up to the root (a parent's
        /// limit binds its children too).
        func cgroupQuota() -> (Double?, String?) {
            guard let membership = read("proc/self/cgroup") else { return (nil, nil) }
            var best: (Double, String)?
            func consider(_ quota: Double?, _ source: String) {
                guard let quota, quota > 0 else { return }
                if best == nil || quota < best!.0 { best = (quota, source) }
            }
            for line in membership.split(separator: "\n") {
                // "hierarchy-id:controllers:path"; v2 is "0::/path".
                let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3 else { continue }
                let controllers = fields[1].split(separator: ",")
                let path = String(fields[2])
                if fields[0] == "0" && fields[1].isEmpty {
                    for directory in ancestors(mount: "sys/fs/cgroup", path: path) {
                        let file = directory + "/cpu.max"
                        consider(read(file).flatMap(Self.parseCPUMax), "/" + file)
                    }
                } else if controllers.contains("cpu") {
                    for mount in ["sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpu", "sys/fs/cgroup/cpuacct,cpu"] {
                        for directory in ancestors(mount: mount, path: path) {
                            let quota = read(directory + "/cpu.cfs_quota_us").flatMap {
                                Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
                            }
                            let period = read(directory + "/cpu.cfs_period_us").flatMap {
                                Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
                            }
                            if let quota, let period, quota > 0, period > 0 {
                                consider(Double(quota) / Double(period), "/" + directory + "/cpu.cfs_quota_us")
                            }
                        }
                    }
                }
            }
            return best.map { ($0.0, $0.1) } ?? (nil, nil)
        }

        /// `mount/path`, its parents up to `mount`. Inside a container the path the kernel
        /// reports may not exist under the container's mount (which is then the group itself),
        /// so `mount` alone is always included.
        func ancestors(mount: String, path: String) -> [String] {
            var components = path.split(separator: "/").map(String.init)
            var result: [String] = []
            while !components.isEmpty {
                result.append(mount + "/" + components.joined(separator: "/"))
                components.removeLast()
            }
            result.append(mount)
            return result
        }

        /// cgroup v2 `cpu.max`: "max 100000" (unlimited) or "150000 100000".
        static func parseCPUMax(_ text: String) -> Double? {
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard fields.count >= 2, let quota = Double(fields[0]), let period = Double(fields[1]), period > 0 else { return nil }
            return quota / period
        }
    }
}
