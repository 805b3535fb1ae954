import FastCGI
import Logging
import POSIX

/// A FastCGI responder the master runs on a socket of its own beside the pool's, with one accept
/// thread: the overload answer (`OverloadAnswer`, nginx's `backup` server beyond the bounded queue)
/// and `/metrics` (`MetricsAnswer`). Neither needs the model nor more than a thread: each answer is
/// computed at once. The body is still read (the FastCGI server reads it before calling any
/// handler), at most `maxBodyBytes`.
///
/// `refuseNewConnections()` removes the socket path, so nginx answers its own 502 as for a gone
/// pool (the overload answer does so when the pool starts to drain: a pool that is going away is
/// not "overloaded"); `stop()` ends it with the master.
public final class MasterResponder: Sendable {
    public let listener: ListeningSocket
    private let server: FastCGIServer

    public init(listener: ListeningSocket, handler: some RequestHandler, maxBodyBytes: Int, logger: Logger) throws(ServerError) {
        self.listener = listener
        server = try FastCGIServer(
            listeningDescriptor: listener.fileDescriptor, handler: handler,
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
