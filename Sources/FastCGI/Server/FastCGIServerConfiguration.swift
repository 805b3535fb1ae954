/// How a `FastCGIServer` runs.
public struct FastCGIServerConfiguration: Sendable {
    /// Accept threads, each serving one request at a time: the number of requests this
    /// process holds at once (and so the most a batching handler can gather).
    public var acceptThreads: Int
    /// Bodies larger than this are answered 413 without calling the handler
    /// (nginx's `client_max_body_size` should refuse them first).
    public var maxBodyBytes: Int
    /// Stack of each accept thread; handlers run on it.
    public var threadStackBytes: Int
    /// Longest a single read or write on a connection may block (0: no limit), so a peer
    /// that stalls mid-request cannot hold an accept thread, or a graceful stop, forever.
    public var ioTimeoutSeconds: Int
    /// Told about every finished request (for the one-line access log).
    public var onRequest: (@Sendable (RequestRecord) -> Void)?
    /// Told about trouble that has no request to answer: accept failures, clients gone.
    public var onError: (@Sendable (String) -> Void)?

    public init(
        acceptThreads: Int = 4, maxBodyBytes: Int = 64 * 1024 * 1024, threadStackBytes: Int = 8 * 1024 * 1024,
        ioTimeoutSeconds: Int = 60, onRequest: (@Sendable (RequestRecord) -> Void)? = nil, onError: (@Sendable (String) -> Void)? = nil
    ) {
        self.acceptThreads = acceptThreads
        self.maxBodyBytes = maxBodyBytes
        self.threadStackBytes = threadStackBytes
        self.ioTimeoutSeconds = ioTimeoutSeconds
        self.onRequest = onRequest
        self.onError = onError
    }
}

/// One served request, for logging: method, path, status, bytes, time, thread.
public struct RequestRecord: Sendable {
    public var method: String
    public var path: String
    public var status: Int
    public var requestBytes: Int
    /// Body bytes sent.
    public var responseBytes: Int
    /// From accepting the request to handing the last byte to libfcgi.
    public var seconds: Double
    /// Index of the accept thread (0 ..< acceptThreads).
    public var thread: Int
    /// `false` when the client went away before the response could be written.
    public var delivered: Bool
}
