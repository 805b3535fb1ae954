import Glibc

/// A loopback TCP port that was free a moment ago (bound to port 0, then released). The
/// kernel hands out such ports from the ephemeral range, so whoever probes them must not be
/// fooled by a self-connection (see `connectsTCP`).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw LoopbackPortError.system("socket", errno) }
    defer { close(fd) }
    var address = loopback(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw LoopbackPortError.system("bind", errno) }
    guard let port = localPort(of: fd) else { throw LoopbackPortError.system("getsockname", errno) }
    return port
}

/// True when a listener accepts TCP connections on 127.0.0.1:`port`.
///
/// A connection whose local port equals `port` is a TCP simultaneous open with itself, not a
/// listener: with nobody listening on a port in the ephemeral range, a probe polled in a loop
/// is sooner or later given that very port as its source and "connects". That happened in CI:
/// a readiness poll succeeded before nginx had bound its port, and the first request was refused.
public func connectsTCP(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopback(port: UInt16(port))
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return connected == 0 && localPort(of: fd) != port
}

public func connectsTCP(port: UInt16) -> Bool { connectsTCP(port: Int(port)) }

public enum LoopbackPortError: Error, CustomStringConvertible {
    case system(String, Int32)

    public var description: String {
        switch self {
        case .system(let call, let code): "\(call) on a loopback socket failed: \(String(cString: strerror(code)))"
        }
    }
}

private func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

private func localPort(of fd: Int32) -> Int? {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return named == 0 ? Int(UInt16(bigEndian: address.sin_port)) : nil
}
