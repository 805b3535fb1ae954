import POSIX

/// Whether the web server has given up on a request (its client hung up, a timeout): set by
/// the server's `ConnectionWatcher`, read by whoever does the request's work, which should then
/// stop and say what it skipped (`recordSkipped`), so the server's log line can name it.
///
/// A fresh token is never cancelled; requests built outside the server (tests, routes called
/// directly) carry one of those.
public final class RequestCancellation: Sendable {
    private struct State {
        var reason: String?
        var skipped: [String] = []
    }

    private let state = Locked(State())

    public init() {}

    /// What work for an abandoned request throws to unwind: a response nobody will read
    /// (nginx's own code for a client that closed the request; the server does not write it).
    public static var abandoned: HTTPError { HTTPError(499, "Client closed request") }

    /// True once `cancel(reason:)` was called.
    public var isCancelled: Bool { state.withLock { $0.reason != nil } }
    /// Why the request was abandoned (the first reason given), or nil.
    public var reason: String? { state.withLock { $0.reason } }
    /// What the request's work skipped because of the cancellation, in the order recorded.
    public var skipped: [String] { state.withLock { $0.skipped } }

    /// Marks the request abandoned; later reasons are ignored.
    public func cancel(reason: String) {
        state.withLock { current in
            if current.reason == nil { current.reason = reason }
        }
    }

    /// Notes work that was not done because the request was abandoned (for the log).
    public func recordSkipped(_ what: String) {
        state.withLock { $0.skipped.append(what) }
    }
}
