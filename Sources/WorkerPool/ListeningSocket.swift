import Glibc
import Synchronization

/// A bound, listening stream socket owned by the master and handed to every worker as fd 0.
///
/// libfcgi workers accept on `FCGI_LISTENSOCK_FILENO` (0), so the master binds once and
/// all workers share the kernel's accept queue; a restarted worker picks up where the
/// dead one left off without nginx seeing the socket disappear.
///
/// The descriptor is close-on-exec; only the spawner passes it down (by dup2 onto 0).
/// A unix socket path is removed by `close()` (and `deinit`) if it still names this
/// socket, so a stale file never blocks the next start.
public final class ListeningSocket: Sendable {
    public let address: ListenAddress
    public let fileDescriptor: Int32
    private let ownedInode: (device: UInt, inode: UInt)?
    private let state = Mutex(State.open)

    private enum State { case open, pathRemoved, closed }

    /// Default mode of a unix socket: nginx often runs as another user than the pool
    /// (`nobody`, `www-data`); tighten with a group (0o660) when the deployment allows.
    public static let defaultUnixSocketMode: mode_t = 0o666

    private init(address: ListenAddress, fileDescriptor: Int32, ownedInode: (device: UInt, inode: UInt)?) {
        self.address = address
        self.fileDescriptor = fileDescriptor
        self.ownedInode = ownedInode
    }

    deinit { close() }

    /// Binds and listens on `address`.
    ///
    /// A unix path that already exists is checked first: a socket nobody accepts on is
    /// stale and removed; one that accepts means another instance runs there
    /// (`.addressInUse`); anything that is not a socket is left alone (`.pathOccupied`).
    /// TCP sockets get `SO_REUSEADDR` so a restart does not wait out TIME_WAIT.
    public static func bind(
        _ address: ListenAddress,
        backlog: Int32 = 1024,
        unixSocketMode: mode_t = defaultUnixSocketMode
    ) throws(ListenError) -> ListeningSocket {
        switch address {
        case .unix(let path):
            try removeStaleSocket(at: path, address: address)
            let fd = try makeSocket(family: AF_UNIX, address: address)
            do throws(ListenError) {
                let inode = try bindUnix(fd, path: path, address: address, backlog: backlog, mode: unixSocketMode)
                return ListeningSocket(address: address, fileDescriptor: fd, ownedInode: inode)
            } catch {
                Glibc.close(fd)
                throw error
            }

        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
            var list: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &list)
            guard rc == 0, let first = list else {
                throw .resolve(host: host, message: String(cString: gai_strerror(rc)))
            }
            defer { freeaddrinfo(list) }
            let fd = try makeSocket(family: first.pointee.ai_family, address: address)
            var one: Int32 = 1
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let error = SystemCallError.last("setsockopt(SO_REUSEADDR)")
                Glibc.close(fd)
                throw .system(error)
            }
            guard Glibc.bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
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

    /// The TCP port actually bound (useful after binding port 0); nil for a unix socket.
    public var localPort: UInt16? {
        guard case .tcp = address else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fileDescriptor, $0, &length) }
        }
        guard rc == 0 else { return nil }
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer -> UInt16 in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
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
    /// Idempotent.
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

    /// bind + chmod + listen on a fresh unix socket; returns the socket file's identity
    /// so that `close()` only ever removes the file this instance created.
    private static func bindUnix(
        _ fd: Int32, path: String, address: ListenAddress, backlog: Int32, mode: mode_t
    ) throws(ListenError) -> (device: UInt, inode: UInt) {
        var storage = try unixSocketAddress(path, address: address)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw .from(.last("bind", subject: address.description), address) }
        var info = stat()
        guard chmod(path, mode) == 0, lstat(path, &info) == 0, listen(fd, backlog) == 0 else {
            let error = SystemCallError.last("chmod/listen", subject: path)
            unlink(path)
            throw .system(error)
        }
        return (UInt(info.st_dev), UInt(info.st_ino))
    }

    private static func makeSocket(family: Int32, address: ListenAddress) throws(ListenError) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(.last("socket", subject: address.description)) }
        return fd
    }

    static func unixSocketAddress(_ path: String, address: ListenAddress) throws(ListenError) -> sockaddr_un {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard bytes.count < capacity else {
            throw .system(SystemCallError("bind", subject: address.description, errno: ENAMETOOLONG))
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return storage
    }

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
    case system(SystemCallError)

    static func from(_ error: SystemCallError, _ address: ListenAddress) -> ListenError {
        error.errno == EADDRINUSE ? .addressInUse(address) : .system(error)
    }

    public var description: String {
        switch self {
        case .addressInUse(let a): "\(a) is in use: another instance is listening there"
        case .pathOccupied(let p): "\(p) exists and is not a socket; remove it or choose another COLPALI_LISTEN"
        case .resolve(let host, let message): "cannot resolve listen host \"\(host)\": \(message)"
        case .system(let e): e.description
        }
    }
}
