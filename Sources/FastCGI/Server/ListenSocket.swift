#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A listening stream socket: bound here (unix path or TCP) or inherited (`fd:0` when
/// a master spawned this process with the socket as `FCGI_LISTENSOCK_FILENO`).
///
/// Bound here instead of through `FCGX_OpenSocket` because that function calls
/// `exit()` on some failures and binds TCP to every interface; errors here are values and
/// TCP binds to the host given. Sockets are created close-on-exec; a master that passes
/// one to a child dup2()s it onto fd 0 in the child, which clears that flag.
public final class ListenSocket: Sendable {
    public let fd: Int32
    public let address: ListenAddress
    /// The unix socket file this process created (removed again by `close()`).
    private let ownedPath: String?
    private let closed = Locked(false)

    private init(fd: Int32, address: ListenAddress, ownedPath: String?) {
        self.fd = fd
        self.address = address
        self.ownedPath = ownedPath
    }

    /// Binds and listens. For a unix path, a stale socket file left by an earlier run is
    /// replaced (anything else at that path is an error); `unixMode` sets its permissions
    /// (nginx often runs as another user).
    public static func bind(_ address: ListenAddress, backlog: Int32 = 1024, unixMode: mode_t? = nil) throws(ServerError) -> ListenSocket {
        let target: SocketAddress
        var ownedPath: String?
        switch address {
        case .inherited(let fd):
            return try inherit(fd: fd)
        case .unix(let path):
            target = try SocketAddress.unix(path)
            var info = stat()
            if lstat(path, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .system(call: "bind", target: path, errno: EEXIST) }
                unlink(path)
            }
            ownedPath = path
        case .tcp(let host, let port):
            target = try SocketAddress.tcp(host: host, port: port)
        }
        let fd = socket(target.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(call: "socket", target: address.description, errno: errno) }
        if target.family != AF_UNIX {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = target.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .system(call: "bind", target: address.description, errno: code)
        }
        if let path = ownedPath, let mode = unixMode {
            chmod(path, mode)
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            if let path = ownedPath { unlink(path) }
            throw .system(call: "listen", target: address.description, errno: code)
        }
        return ListenSocket(fd: fd, address: address, ownedPath: ownedPath)
    }

    /// Adopts an inherited socket after checking it is a listening stream socket.
    public static func inherit(fd: Int32 = ListenAddress.listenSocketFileno) throws(ServerError) -> ListenSocket {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting != 0 else {
            throw .notAListeningSocket(fd: fd)
        }
        return ListenSocket(fd: fd, address: .inherited(fd: fd), ownedPath: nil)
    }

    /// The TCP port actually bound (useful after binding port 0); `nil` for unix sockets.
    public var localPort: UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port) }
        case AF_INET6:
            return withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port) }
        default:
            return nil
        }
    }

    /// Closes the descriptor (once) and removes a unix socket file this process created.
    /// Other processes sharing an inherited socket keep listening.
    public func close() {
        let first = closed.withLock { wasClosed -> Bool in
            defer { wasClosed = true }
            return !wasClosed
        }
        guard first else { return }
        if let path = ownedPath { unlink(path) }
        Glibc.close(fd)
    }

    deinit {
        close()
    }
}
