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

    public init(
        acceptThreads: Int = 4, maxBodyBytes: Int = 64 * 1024 * 1024, threadStackBytes: Int = 8 * 1024 * 1024,
        ioTimeoutSeconds: Int = 60
    ) {
        self.acceptThreads = acceptThreads
        self.maxBodyBytes = maxBodyBytes
        self.threadStackBytes = threadStackBytes
        self.ioTimeoutSeconds = ioTimeoutSeconds
    }
}
