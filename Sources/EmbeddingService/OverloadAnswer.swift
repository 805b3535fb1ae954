import FastCGI

/// The pool's overflow (issue 12, "overload answered fast"): the answer a `MasterResponder` in the
/// master gives every request at once, 503 with `Retry-After` and the API's `{"detail": ...}`.
///
/// The bounded queue is the pool socket's listen backlog (`ServiceConfiguration.queueDepth`).
/// On Linux a non-blocking connect to a unix stream socket whose backlog is full fails at once
/// with `EAGAIN`; nginx connects non-blocking, counts that as a connect error and moves to the
/// next server of its upstream, the `backup` server on this answer's socket. So a request
/// beyond the queue costs one refused connect and this answer, never minutes in the backlog.
/// The body is read up to nginx's body limit (`maxBodyBytes` of the responder). When the pool
/// starts to drain the master calls `refuseNewConnections()`, so nginx answers its own 502.
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
