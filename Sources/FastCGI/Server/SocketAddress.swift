#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A resolved socket address ready for `bind`/`connect`, shared by the listener and
/// the test client.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 = 0

    /// A unix socket path (at most 107 bytes on Linux).
    static func unix(_ path: String) throws(ServerError) -> SocketAddress {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { throw .invalidAddress("unix:\(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        var result = SocketAddress()
        result.family = AF_UNIX
        result.length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        withUnsafeMutableBytes(of: &result.storage) { target in
            withUnsafeBytes(of: &address) { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[..<MemoryLayout<sockaddr_un>.size]))
            }
        }
        return result
    }

    /// A TCP address; `host` is a numeric IPv4/IPv6 address or a name resolved locally.
    static func tcp(host: String, port: UInt16) throws(ServerError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0, let first = list else {
            throw .invalidAddress("\(host):\(port)")
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

    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
