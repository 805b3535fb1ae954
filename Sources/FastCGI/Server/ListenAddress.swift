/// Where the FastCGI responder listens.
///
/// Text forms (`init(parsing:)`): `unix:/run/app.sock` or an absolute path → a unix
/// socket; `host:port`, `[v6]:port` or `:port` (loopback) → TCP; `fd:N` → an already
/// listening socket inherited from the parent, `fd:0` being `FCGI_LISTENSOCK_FILENO`,
/// where a spawning master puts it.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)
    case inherited(fd: Int32)

    /// The socket a FastCGI application finds when spawned by a FastCGI-aware parent.
    public static let listenSocketFileno: Int32 = 0

    public init(parsing text: String) throws(ServerError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw .invalidAddress(text) }
            self = .unix(path: path)
        } else if text.hasPrefix("/") {
            self = .unix(path: text)
        } else if text.hasPrefix("fd:") {
            guard let fd = Int32(text.dropFirst(3)), fd >= 0 else { throw .invalidAddress(text) }
            self = .inherited(fd: fd)
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .invalidAddress(text) }
            var host = String(text[..<colon])
            guard let port = UInt16(text[text.index(after: colon)...]), port > 0 else { throw .invalidAddress(text) }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host.isEmpty { host = "127.0.0.1" }
            self = .tcp(host: host, port: port)
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .inherited(let fd): return "fd:\(fd)"
        }
    }
}
