import Glibc

extension ListenAddress {
    /// Whether a TCP address only accepts connections from this host: `localhost`,
    /// 127.0.0.0/8, `::1` (and 127.0.0.0/8 mapped into IPv6); a name counts when every address
    /// it resolves to does. nil for unix sockets and inherited descriptors (no network).
    ///
    /// The pool trusts whoever connects (nginx did TLS, keys and limits), so anything else
    /// exposes it: the master warns about it at start-up.
    public var isLoopback: Bool? {
        guard case .tcp(let host, _) = self else { return nil }
        if host.lowercased() == "localhost" { return true }
        if let numeric = Self.loopbackLiteral(host) { return numeric }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, list != nil else { return false }
        defer { freeaddrinfo(list) }
        var node = list
        while let entry = node {
            guard Self.isLoopback(entry.pointee.ai_addr, family: entry.pointee.ai_family) else { return false }
            node = entry.pointee.ai_next
        }
        return true
    }

    /// true/false for a numeric IPv4 or IPv6 host, nil for a name.
    private static func loopbackLiteral(_ host: String) -> Bool? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return isLoopback(v4) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return isLoopback(v6) }
        return nil
    }

    private static func isLoopback(_ address: UnsafeMutablePointer<sockaddr>?, family: Int32) -> Bool {
        guard let address else { return false }
        switch family {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { isLoopback($0.pointee.sin_addr) }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { isLoopback($0.pointee.sin6_addr) }
        default:
            return false
        }
    }

    private static func isLoopback(_ address: in_addr) -> Bool {
        UInt32(bigEndian: address.s_addr) >> 24 == 127
    }

    private static func isLoopback(_ address: in6_addr) -> Bool {
        let bytes = withUnsafeBytes(of: address) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }  // ::1
        // ::ffff:127.x.y.z
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
    }
}
