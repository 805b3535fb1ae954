import POSIX

/// Failures setting up or running the FastCGI server (never caused by request content).
public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed: which one, on what, and `errno`.
    case system(SystemCallError)
    case libraryInit(code: Int32)
    case alreadyStarted

    public var description: String {
        switch self {
        case .system(let error): return error.description
        case .libraryInit(let code): return "FCGX_Init failed (\(code))"
        case .alreadyStarted: return "server already started"
        }
    }
}
