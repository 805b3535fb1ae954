import Foundation
import Glibc
import Testing

// Probes of processes and ports the end-to-end tests look at.

/// Process ids whose parent is `parent` (from /proc/<pid>/stat).
func childProcesses(of parent: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // "pid (comm) state ppid ..." – comm may contain spaces, so split after the last ')'.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, pid_t(fields[1]) == parent else { return nil }
        // A zombie (state Z) is not a live worker.
        return fields[0] == "Z" ? nil : pid
    }.sorted()
}

/// Socket inodes ("socket:[123]") a process holds open.
func socketDescriptors(of pid: pid_t) -> Set<String> {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    return Set(
        fds.compactMap { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                target.hasPrefix("socket:")
            else { return nil }
            return target
        })
}
