#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Failures setting up or running the FastCGI server (never caused by request content).
public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidAddress(String)
    /// A system call failed: which one, on what, and `errno`.
    case system(call: String, target: String, errno: Int32)
    case notAListeningSocket(fd: Int32)
    case libraryInit(code: Int32)
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidAddress(let text): return "invalid listen address '\(text)'"
        case .system(let call, let target, let code): return "\(call)(\(target)) failed: \(ServerError.describe(errno: code))"
        case .notAListeningSocket(let fd): return "fd \(fd) is not a listening socket"
        case .libraryInit(let code): return "FCGX_Init failed (\(code))"
        case .alreadyStarted: return "server already started"
        }
    }

    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)) (errno \(code))"
    }
}
