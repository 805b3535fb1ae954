import FastCGI
import Logging
import POSIX

/// The pool's overflow (issue 12, "overload answered fast"): a FastCGI responder in the master
/// that answers every request at once with 503, `Retry-After` and the API's `{"detail": ...}`.
///
/// The bounded queue is the pool socket's listen backlog (`ServiceConfiguration.queueDepth`).
/// On Linux a non-blocking connect to a unix stream socket whose backlog is full fails at once
/// with `EAGAIN`; nginx connects non-blocking, counts that as a connect error and moves to the
/// next server of its upstream, the `backup` server on this responder's socket. So a request
/// beyond the queue costs one refused connect and this answer, never minutes in the backlog.
///
/// One accept thread: the answer needs no work. The body is still read (the FastCGI server
/// reads it before calling any handler), at most `maxBodyBytes`, nginx's body limit.
/// When the pool starts to drain, `refuseNewConnections()` removes the socket path so nginx
/// answers its own 502 as it does for the pool socket (a pool that is going away is not
/// "overloaded"); `stop()` ends it with the master.
public final class OverloadResponder: Sendable {
    public let listener: ListeningSocket
    private let server: FastCGIServer

    public init(listener: ListeningSocket, answer: OverloadAnswer, maxBodyBytes: Int, logger: Logger) throws(ServerError) {
        self.listener = listener
        server = try FastCGIServer(
            listeningDescriptor: listener.fileDescriptor, handler: answer,
            configuration: FastCGIServerConfiguration(acceptThreads: 1, maxBodyBytes: maxBodyBytes, ioTimeoutSeconds: 10),
            logger: logger)
    }

    public func start() throws(ServerError) { try server.start() }

    /// New connections are refused (the path is gone); the thread keeps running until `stop()`.
    public func refuseNewConnections() { listener.removePath() }

    /// Stops the accept thread, waits for it, closes the socket and removes its path.
    public func stop() {
        server.stop()
        server.wait()
        listener.close()
    }
}

/// The one answer of the `OverloadResponder`, for every method and path.
public struct OverloadAnswer: RequestHandler {
    /// Requests the pool's queue holds (named in the message).
    public let queueDepth: Int
    /// `Retry-After`, in seconds.
    public let retryAfterSeconds: Int

    public init(queueDepth: Int, retryAfterSeconds: Int) {
        self.queueDepth = queueDepth
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var response: HTTPResponse {
        var response = HTTPResponse.detail(
            503, "Service overloaded: \(queueDepth) requests are already waiting; retry later")
        response.headers.add("retry-after", String(retryAfterSeconds))
        return response
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse { response }
}
