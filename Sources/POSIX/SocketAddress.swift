import Glibc

/// A resolved socket address ready for `bind` or `connect`: the listener's and the FastCGI
/// test client's, so both resolve `ListenAddress` the same way.
public struct SocketAddress: Sendable {
    private var storage = sockaddr_storage()
    public private(set) var length: socklen_t = 0
    public private(set) var family: Int32 = 0

    /// Resolves a unix path or TCP host; an inherited descriptor has no address.
    public init(_ address: ListenAddress) throws(ListenError) {
        switch address {
        case .unix(let path): self = try Self.unix(path)
        case .tcp(let host, let port): self = try Self.tcp(host: host, port: port)
        case .inherited: throw .noSocketAddress(address)
        }
    }

    private init() {}

    /// A unix socket path (at most 107 bytes on Linux).
    public static func unix(_ path: String) throws(ListenError) -> SocketAddress {
        let address = try unixStorage(path)
        var result = SocketAddress()
        result.family = AF_UNIX
        result.length = socklen_t(MemoryLayout<sockaddr_un>.size)
        withUnsafeMutableBytes(of: &result.storage) { target in
            withUnsafeBytes(of: address) { source in target.copyMemory(from: source) }
        }
        return result
    }

    /// A TCP address; `host` is a numeric IPv4/IPv6 address or a name resolved locally
    /// (the first answer of `getaddrinfo`).
    public static func tcp(host: String, port: UInt16) throws(ListenError) -> SocketAddress {
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
        var result = SocketAddress()
        result.family = first.pointee.ai_family
        result.length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &result.storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return result
    }

    /// `sockaddr_un` for `path`; ENAMETOOLONG (as `bind` would report it) when it does not fit.
    static func unixStorage(_ path: String) throws(ListenError) -> sockaddr_un {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.contains(0) else {
            throw .system(SystemCallError("bind", subject: "unix:\(path)", errno: EINVAL))
        }
        guard bytes.count < capacity else {
            throw .system(SystemCallError("bind", subject: "unix:\(path)", errno: ENAMETOOLONG))
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return storage
    }

    public func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
