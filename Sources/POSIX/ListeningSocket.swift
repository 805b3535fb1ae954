import Glibc

/// A listening stream socket: bound here (the master, or a worker run by hand) or inherited
/// (a worker spawned with the socket as fd 0, `FCGI_LISTENSOCK_FILENO`).
///
/// libfcgi workers accept on fd 0, so the master binds once and all workers share the
/// kernel's accept queue; a restarted worker picks up where the dead one left off without
/// nginx seeing the socket disappear.
///
/// Bound here instead of through `FCGX_OpenSocket` because that function calls `exit()` on
/// some failures, binds TCP to every interface and unlinks an existing path blindly; errors
/// here are values and TCP binds to the host given. A bound descriptor is close-on-exec;
/// only the spawner passes it down (by dup2 onto 0). A unix socket path is removed by
/// `close()` (and `deinit`) only if it still names the socket this instance created, so a
/// stale file never blocks the next start and a successor's socket is never deleted.
public final class ListeningSocket: Sendable {
    public let address: ListenAddress
    public let fileDescriptor: Int32
    private let ownedInode: (device: UInt, inode: UInt)?
    private let state = Locked(State.open)

    private enum State { case open, pathRemoved, closed }

    private init(address: ListenAddress, fileDescriptor: Int32, ownedInode: (device: UInt, inode: UInt)?) {
        self.address = address
        self.fileDescriptor = fileDescriptor
        self.ownedInode = ownedInode
    }

    deinit { close() }

    /// Binds and listens on `address` (`.inherited` adopts that descriptor instead).
    ///
    /// A unix path that already exists is checked first: a socket nobody accepts on is
    /// stale and removed; one that accepts means another instance runs there
    /// (`.addressInUse`); anything that is not a socket is left alone (`.pathOccupied`).
    /// A unix socket appears at its path already with `permissions` (see `bindUnix`).
    /// TCP sockets get `SO_REUSEADDR` so a restart does not wait out TIME_WAIT.
    public static func bind(
        _ address: ListenAddress,
        backlog: Int32 = 1024,
        permissions: UnixSocketPermissions = .default
    ) throws(ListenError) -> ListeningSocket {
        switch address {
        case .inherited(let fd):
            return try inherit(fd: fd)

        case .unix(let path):
            try removeStaleSocket(at: path, address: address)
            let fd = try makeSocket(family: AF_UNIX, address: address)
            do throws(ListenError) {
                let inode = try bindUnix(fd, path: path, address: address, backlog: backlog, permissions: permissions)
                return ListeningSocket(address: address, fileDescriptor: fd, ownedInode: inode)
            } catch {
                Glibc.close(fd)
                throw error
            }

        case .tcp:
            let target = try SocketAddress(address)
            let fd = try makeSocket(family: target.family, address: address)
            var one: Int32 = 1
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let error = SystemCallError.last("setsockopt(SO_REUSEADDR)")
                Glibc.close(fd)
                throw .system(error)
            }
            guard target.withSockaddr({ Glibc.bind(fd, $0, $1) }) == 0 else {
                let error = SystemCallError.last("bind", subject: address.description)
                Glibc.close(fd)
                throw .from(error, address)
            }
            guard listen(fd, backlog) == 0 else {
                let error = SystemCallError.last("listen", subject: address.description)
                Glibc.close(fd)
                throw .system(error)
            }
            return ListeningSocket(address: address, fileDescriptor: fd, ownedInode: nil)
        }
    }

    /// Adopts an inherited socket (default: fd 0) after checking it is a listening stream
    /// socket. Its descriptor flags are left as the parent set them.
    public static func inherit(fd: Int32 = ListenAddress.listenSocketFileno) throws(ListenError) -> ListeningSocket {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting != 0 else {
            throw .notAListeningSocket(fd: fd)
        }
        return ListeningSocket(address: .inherited(fd: fd), fileDescriptor: fd, ownedInode: nil)
    }

    /// The TCP port actually bound (useful after binding port 0); nil for a unix socket.
    public var localPort: UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fileDescriptor, $0, &length) }
        }
        guard rc == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port) }
        case AF_INET6:
            return withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port) }
        default:
            return nil
        }
    }

    /// Removes the unix socket path (if it is still ours) so new connections are refused
    /// at once, while the descriptor stays open for workers that are draining.
    public func removePath() {
        let proceed = state.withLock { state -> Bool in
            guard state == .open else { return false }
            state = .pathRemoved
            return true
        }
        if proceed { unlinkIfOwned() }
    }

    /// Closes the descriptor and removes the unix socket path if it still names this socket.
    /// Idempotent. Other processes sharing the socket keep listening.
    public func close() {
        let previous = state.withLock { state -> State in
            let old = state
            state = .closed
            return old
        }
        guard previous != .closed else { return }
        if previous == .open { unlinkIfOwned() }
        Glibc.close(fileDescriptor)
    }

    private func unlinkIfOwned() {
        guard case .unix(let path) = address, let owned = ownedInode else { return }
        var info = stat()
        guard lstat(path, &info) == 0, UInt(info.st_dev) == owned.device, UInt(info.st_ino) == owned.inode else { return }
        unlink(path)
    }

    // MARK: - Helpers

    /// bind + chown + chmod + listen on a fresh unix socket, race-free: the socket is bound in
    /// a private 0700 directory beside `path`, given its group and mode there, and only then
    /// hard-linked to `path` (`link` fails on an existing name, as `bind` would). A bare
    /// bind + chmod leaves a window in which the path has the umask's mode, and `fchmod` on a
    /// socket descriptor does not change the file's mode on Linux. Returns the socket file's
    /// identity so that `close()` only ever removes the file this instance created.
    private static func bindUnix(
        _ fd: Int32, path: String, address: ListenAddress, backlog: Int32, permissions: UnixSocketPermissions
    ) throws(ListenError) -> (device: UInt, inode: UInt) {
        let staging = try StagingDirectory(beside: path, address: address)
        defer { staging.remove() }
        var storage = try unixSocketAddress(staging.socketPath, address: address)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw .from(.last("bind", subject: address.description), address) }
        if let group = permissions.group, chown(staging.socketPath, uid_t.max, group) != 0 {
            throw .socketGroup(group, .last("chown", subject: path))
        }
        guard chmod(staging.socketPath, permissions.mode) == 0 else { throw .system(.last("chmod", subject: path)) }
        guard listen(fd, backlog) == 0 else { throw .system(.last("listen", subject: path)) }
        guard link(staging.socketPath, path) == 0 else {
            throw errno == EEXIST ? .addressInUse(address) : .system(.last("link", subject: path))
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let error = SystemCallError.last("lstat", subject: path)
            unlink(path)
            throw .system(error)
        }
        return (UInt(info.st_dev), UInt(info.st_ino))
    }

    /// A private directory (0700, from `mkdtemp`) in the socket's directory, so that the
    /// hard link stays on one file system. When its socket path would not fit in `sun_path`
    /// (a long directory and a short name), the socket is bound through
    /// `/proc/self/fd/N/s`, the directory's descriptor.
    private struct StagingDirectory {
        let directory: String
        let socketPath: String
        private let descriptor: Int32

        init(beside path: String, address: ListenAddress) throws(ListenError) {
            let parent = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "./"
            var template = Array("\(parent).XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            // Reported as bind's failure: a missing directory is ENOENT from "bind" as before.
            guard let made else { throw .system(.last("bind", subject: address.description)) }
            directory = String(cString: made)
            let direct = directory + "/s"
            if direct.utf8.count <= ListenAddress.maximumUnixPathBytes {
                descriptor = -1
                socketPath = direct
            } else {
                descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                socketPath = "/proc/self/fd/\(descriptor)/s"
                guard descriptor >= 0 else {
                    let error = SystemCallError.last("open", subject: directory)
                    rmdir(directory)
                    throw .system(error)
                }
            }
        }

        func remove() {
            unlink(directory + "/s")
            rmdir(directory)
            if descriptor >= 0 { Glibc.close(descriptor) }
        }
    }

    private static func makeSocket(family: Int32, address: ListenAddress) throws(ListenError) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(.last("socket", subject: address.description)) }
        return fd
    }

    static func unixSocketAddress(_ path: String, address: ListenAddress) throws(ListenError) -> sockaddr_un {
        try SocketAddress.unixStorage(path)
    }

    /// The stale-socket probe: only a socket file that refuses connections is removed.
    private static func removeStaleSocket(at path: String, address: ListenAddress) throws(ListenError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .system(.last("lstat", subject: path))
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .pathOccupied(path) }
        let probe = try makeSocket(family: AF_UNIX, address: address)
        defer { Glibc.close(probe) }
        var storage = try unixSocketAddress(path, address: address)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc == 0 { throw .addressInUse(address) }
        switch errno {
        case ECONNREFUSED:
            // Unlink only the file that was probed: if another instance replaced it
            // meanwhile, its inode differs and it is left alone.
            var now = stat()
            guard lstat(path, &now) == 0, now.st_dev == info.st_dev, now.st_ino == info.st_ino else { return }
            guard unlink(path) == 0 || errno == ENOENT else { throw .system(.last("unlink", subject: path)) }
        case ENOENT:
            return
        default:
            throw .system(.last("connect", subject: path))
        }
    }
}

public enum ListenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Something accepts connections there already: another instance is running.
    case addressInUse(ListenAddress)
    /// The unix socket path exists and is not a socket; it is not ours to delete.
    case pathOccupied(String)
    case resolve(host: String, message: String)
    /// An inherited descriptor that is not a listening stream socket.
    case notAListeningSocket(fd: Int32)
    /// `fd:N` names a descriptor, not an address to bind or connect to.
    case noSocketAddress(ListenAddress)
    /// The socket file could not be given this group (unknown to the kernel, or not one of ours).
    case socketGroup(gid_t, SystemCallError)
    case system(SystemCallError)

    static func from(_ error: SystemCallError, _ address: ListenAddress) -> ListenError {
        error.errno == EADDRINUSE ? .addressInUse(address) : .system(error)
    }

    public var description: String {
        switch self {
        case .addressInUse(let a): "\(a) is in use: another instance is listening there"
        case .pathOccupied(let p): "\(p) exists and is not a socket; remove it or choose another COLPALI_LISTEN"
        case .resolve(let host, let message): "cannot resolve listen host \"\(host)\": \(message)"
        case .notAListeningSocket(let fd): "fd \(fd) is not a listening socket"
        case .noSocketAddress(let a): "\(a) is an inherited descriptor, not an address to bind or connect to"
        case .socketGroup(let gid, let e):
            "cannot give the socket to group \(UnixGroup.name(of: gid) ?? String(gid)) (COLPALI_SOCKET_GROUP): \(e); "
                + "name a group this user belongs to, or run the master as root"
        case .system(let e): e.description
        }
    }
}
