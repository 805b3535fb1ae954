import Foundation
import POSIX

/// The pool's bounded queue and its overflow socket (issue 12, "overload answered fast").
///
/// The queue is the pool socket's listen backlog: requests beyond what the workers hold
/// (`workers` × `requestsPerWorker`, accept threads) wait there, at most `effectiveQueueDepth`
/// of them; the next connect fails at once and nginx moves to the master's `OverloadAnswer` on
/// `overloadAddress`, a `backup` server of its upstream. Only a unix pool socket gives that
/// immediate refusal (a full TCP backlog drops the SYN, and the connect waits out nginx's
/// `fastcgi_connect_timeout`), so a TCP or inherited pool has no overflow socket.
extension ServiceConfiguration {
    static let queueDepthVariable = "COLPALI_QUEUE_DEPTH"
    /// File name of the overflow socket in the run directory; the one place it is spelled
    /// (scripts ask `colmodernvbert config nginx`).
    public static let overloadSocketName = "colmodernvbert-overload.sock"

    /// `COLPALI_QUEUE_DEPTH`, by default one waiting request per request slot of the pool.
    public var effectiveQueueDepth: Int { queueDepth ?? workers * requestsPerWorker }

    /// The `listen(2)` backlog giving `effectiveQueueDepth`: Linux admits one connection more
    /// than the backlog to a unix stream socket (measured on 6.18: backlog 0 holds 1 pending
    /// connect, 1 holds 2, then `EAGAIN`). The kernel caps it at `net.core.somaxconn`.
    public var listenBacklog: Int32 { Int32(clamping: max(0, effectiveQueueDepth - 1)) }

    /// The overflow socket for a unix `listen`, in the run directory; nil otherwise.
    public var overloadAddress: ListenAddress? { Self.overloadAddress(listen: listen, runDirectory: runDirectory) }

    static func overloadAddress(listen: ListenAddress, runDirectory: URL) -> ListenAddress? {
        guard case .unix = listen else { return nil }
        return .unix(path: runDirectory.appendingPathComponent(overloadSocketName).path)
    }

    /// The overflow socket from `COLPALI_LISTEN` and `COLPALI_RUN_DIR` alone (what
    /// `colmodernvbert config nginx` prints as `overflow`); nil for a TCP or inherited pool.
    public static func overloadAddress(fromEnvironment environment: [String: String]) throws -> ListenAddress? {
        let reader = EnvironmentReader(environment)
        let directory = runDirectory(reader)
        return overloadAddress(listen: try listenAddress(reader, runDirectory: directory), runDirectory: directory)
    }
}
