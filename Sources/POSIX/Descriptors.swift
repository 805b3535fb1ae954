import Glibc

/// Small helpers over raw file descriptors shared by the socket, signal and spawn code.
///
/// Everything the master opens is close-on-exec so that a worker only inherits
/// what the spawner dup2's onto its fixed slots (0, 3, 4).
public enum Descriptors {
    /// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`: used instead of `pipe`
    /// because `pipe2` is not visible from Swift's Glibc module and a plain
    /// `pipe` + `fcntl` would leave a window in which another thread's spawn
    /// inherits the descriptors.
    public static func cloexecSocketPair() throws(SystemCallError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw .last("socketpair") }
        return (fds[0], fds[1])
    }

    public static func setNonBlocking(_ fd: Int32) throws(SystemCallError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw .last("fcntl(O_NONBLOCK)") }
    }

    public static func isCloseOnExec(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFD)
        return flags >= 0 && (flags & FD_CLOEXEC) != 0
    }

    /// A close-on-exec duplicate numbered at least `minimum`, so that dup2'ing
    /// several sources onto low slots can never clobber a source before it is copied.
    public static func duplicate(_ fd: Int32, atLeast minimum: Int32) throws(SystemCallError) -> Int32 {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
        guard copy >= 0 else { throw .last("fcntl(F_DUPFD_CLOEXEC)") }
        return copy
    }

    /// Open descriptors of this process numbered `minimum` or above (from /proc/self/fd).
    public static func openDescriptors(atLeast minimum: Int32) -> [Int32] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        defer { closedir(dir) }
        let own = dirfd(dir)
        var result: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let fd = Int32(name), fd >= minimum, fd != own { result.append(fd) }
        }
        return result
    }

    /// Writes all of `bytes`, retrying on EINTR and short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .last("write")
            }
            offset += n
        }
    }
}
