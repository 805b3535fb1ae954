import Foundation
import Glibc
import POSIX

/// The datagram socket pair between the workers and the master (issue 13): the master
/// keeps the receive end, every worker inherits the send end (fd `workerDescriptor`,
/// named in `COLPALI_METRICS_FD`).
///
/// A pair, not a socket bound in the run directory: Linux limits the queue of a unix
/// datagram socket that others connect to by path to `net.unix.max_dgram_qlen` datagrams
/// (10 on the development machine), and a burst of requests would overflow that while the
/// master's receiver waits for a core. Datagrams sent on one end of a pair to its own peer
/// are bounded only by the send buffer, set to `sendBufferBytes` (all workers share the one
/// inherited socket and so the buffer).
public struct MetricsChannel: Sendable {
    public let receiveEnd: Int32
    public let sendEnd: Int32

    public static let descriptorVariable = "COLPALI_METRICS_FD"
    /// Where workers find the send end (after the handshake's 0, 3 and 4).
    public static let workerDescriptor: Int32 = 5
    /// ~1 KiB of buffer per queued datagram (the kernel charges the skb, not the payload):
    /// room for ~1000 observations, ~100 requests' worth, while the receiver is off-core.
    static let sendBufferBytes: Int32 = 1 << 20

    public static func make() throws(SystemCallError) -> MetricsChannel {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw SystemCallError("socketpair", subject: "metrics channel", errno: errno)
        }
        var size = sendBufferBytes
        _ = setsockopt(ends[1], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return MetricsChannel(receiveEnd: ends[0], sendEnd: ends[1])
    }

    /// The send end a worker inherited, from `COLPALI_METRICS_FD`; nil when run without a
    /// master (or by an older one), and then the worker's metrics go nowhere.
    public static func inheritedSendEnd(environment: [String: String]) -> Int32? {
        guard let text = environment[descriptorVariable], let fd = Int32(text), fd >= 0, fcntl(fd, F_GETFD) != -1 else {
            return nil
        }
        return fd
    }
}

/// The master's thread that reads the workers' datagrams into `PoolMetrics`.
public final class MetricsReceiver: Sendable {
    private let descriptor: Int32
    private let metrics: PoolMetrics
    private let finished = NSCondition()
    private let done = Locked(false)

    public init(descriptor: Int32, metrics: PoolMetrics) {
        self.descriptor = descriptor
        self.metrics = metrics
    }

    public func start() {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: MetricObservation.maxDatagramBytes + 1)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    metrics.receive(datagram: buffer[0..<count])
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break  // 0: shut down by stop(); or the socket failed
                }
            }
            finished.lock()
            done.withLock { $0 = true }
            finished.broadcast()
            finished.unlock()
        }
        thread.name = "metrics-receiver"
        thread.start()
    }

    /// Wakes the thread (a shut-down socket reads 0), waits for it, closes the socket.
    public func stop() {
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
        finished.lock()
        while !done.withLock({ $0 }) { finished.wait() }
        finished.unlock()
        close(descriptor)
    }
}
