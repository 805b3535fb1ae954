/// Where the FastCGI pool listens: the one grammar of `COLPALI_LISTEN`, of the master's
/// bind and of a worker run by hand.
///
/// A unix socket is the default (no port to collide with, permissions decide who may
/// connect); a TCP address serves an nginx on another host or container; an inherited
/// descriptor is what a spawning master (or `spawn-fcgi`) hands its children.
///
/// Accepted spellings (surrounding whitespace is ignored):
/// - `unix:/run/pool.sock`, `unix:./relative.sock`, or any text starting with `/` or `.`
///   (`/run/pool.sock`, `./.run/pool.sock`): a unix socket path;
/// - `127.0.0.1:9000`, `localhost:0` (any free port), `[::1]:9000`, optionally prefixed `tcp:`;
/// - `fd:N`: an already listening socket on descriptor N (`fd:0` is `FCGI_LISTENSOCK_FILENO`).
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)
    case inherited(fd: Int32)

    /// Longest unix socket path the kernel accepts (`sun_path` is 108 bytes with a NUL).
    public static let maximumUnixPathBytes = 107

    /// The descriptor a FastCGI application finds its listening socket on when spawned by a
    /// FastCGI-aware parent (`FCGI_LISTENSOCK_FILENO`).
    public static let listenSocketFileno: Int32 = 0

    public init(parsing text: String) throws(ListenAddressError) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .empty }
        if trimmed.hasPrefix("unix:") {
            self = try Self.unix(String(trimmed.dropFirst("unix:".count)), original: text)
        } else if trimmed.hasPrefix("tcp:") {
            self = try Self.tcp(String(trimmed.dropFirst("tcp:".count)), original: text)
        } else if trimmed.hasPrefix("fd:") {
            let digits = trimmed.dropFirst("fd:".count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let fd = Int32(digits) else {
                throw .invalidDescriptor(text)
            }
            self = .inherited(fd: fd)
        } else if trimmed.hasPrefix("/") || trimmed.hasPrefix(".") {
            self = try Self.unix(trimmed, original: text)
        } else {
            self = try Self.tcp(trimmed, original: text)
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .inherited(let fd): "fd:\(fd)"
        }
    }

    /// The same address with a relative unix path made absolute against `directory`
    /// (`./x.sock` and `x.sock` alike); other addresses unchanged.
    public func resolvingRelativePath(against directory: String) -> ListenAddress {
        guard case .unix(let path) = self, !path.hasPrefix("/") else { return self }
        let relative = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        return .unix(path: directory.hasSuffix("/") ? directory + relative : directory + "/" + relative)
    }

    private static func unix(_ path: String, original: String) throws(ListenAddressError) -> ListenAddress {
        guard !path.isEmpty else { throw .missingPath(original) }
        guard !path.utf8.contains(0) else { throw .unrecognized(original) }
        guard path.utf8.count <= maximumUnixPathBytes else {
            throw .unixPathTooLong(path, limit: maximumUnixPathBytes)
        }
        return .unix(path: path)
    }

    private static func tcp(_ text: String, original: String) throws(ListenAddressError) -> ListenAddress {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            // [v6]:port
            guard let close = text.firstIndex(of: "]") else { throw .unrecognized(original) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .missingPort(original) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .missingPort(original) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            // An unbracketed IPv6 literal is ambiguous ("::1:9000"); insist on brackets.
            guard !host.contains(":") else { throw .unrecognized(original) }
        }
        guard !host.isEmpty else { throw .missingHost(original) }
        guard !portText.isEmpty else { throw .missingPort(original) }
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText) else {
            throw .invalidPort(original)
        }
        return .tcp(host: String(host), port: port)
    }
}

public enum ListenAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case missingPath(String)
    case unixPathTooLong(String, limit: Int)
    case missingHost(String)
    case missingPort(String)
    case invalidPort(String)
    case invalidDescriptor(String)
    case unrecognized(String)

    public var description: String {
        switch self {
        case .empty: "listen address is empty (expected unix:/path, host:port or fd:N)"
        case .missingPath(let t): "listen address \"\(t)\" has no socket path after unix:"
        case .unixPathTooLong(let p, let limit):
            "unix socket path \"\(p)\" is \(p.utf8.count) bytes; the kernel allows \(limit) (use a shorter run directory)"
        case .missingHost(let t): "listen address \"\(t)\" has no host (write 127.0.0.1:PORT)"
        case .missingPort(let t): "listen address \"\(t)\" has no port (expected host:port or unix:/path)"
        case .invalidPort(let t): "listen address \"\(t)\" has a port outside 0...65535"
        case .invalidDescriptor(let t): "listen address \"\(t)\" is not fd:N with N a descriptor number"
        case .unrecognized(let t): "listen address \"\(t)\" is neither unix:/path nor host:port ([v6]:port for IPv6)"
        }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
