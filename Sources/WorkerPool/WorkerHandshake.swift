import Foundation
import Glibc
import POSIX

/// The contract between the master and a worker it execs, in one place.
///
/// - fd 0 (`FCGI_LISTENSOCK_FILENO`): the shared listening socket; libfcgi accepts on it.
/// - fd 3 (`COLPALI_WORKER_READY_FD`): write `ready\n` once the worker accepts requests.
///   The master counts a worker as serving only after that line, which is what makes
///   rolling restarts safe and lets it tell "crashes while loading" from "crashed later".
/// - fd 4 (`COLPALI_WORKER_LIFELINE_FD`): read end of a socket whose other end only the
///   master holds. It reads EOF when the master dies, even by SIGKILL, so orphaned
///   workers can exit instead of serving forever.
/// - `COLPALI_WORKER_INDEX` / `COLPALI_WORKER_GENERATION`: the worker's slot (0..<N) and
///   restart generation (bumped by SIGHUP), for logs.
public enum WorkerHandshake {
    public static let listenDescriptor: Int32 = 0
    public static let readyDescriptor: Int32 = 3
    public static let lifelineDescriptor: Int32 = 4
    public static let readyLine = "ready\n"

    public enum Variable {
        public static let readyDescriptor = "COLPALI_WORKER_READY_FD"
        public static let lifelineDescriptor = "COLPALI_WORKER_LIFELINE_FD"
        public static let index = "COLPALI_WORKER_INDEX"
        public static let generation = "COLPALI_WORKER_GENERATION"
    }
}

/// The worker's side of `WorkerHandshake`.
///
/// Created from the environment; `nil` when the process was not started by a
/// `Supervisor` (e.g. a worker run by hand under `spawn-fcgi`), so callers can skip
/// the handshake without special cases.
public final class WorkerChannel: Sendable {
    public let slot: Int?
    public let generation: Int?
    private let readyDescriptor: Locked<Int32?>
    private let lifelineDescriptor: Int32?

    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let ready = environment[WorkerHandshake.Variable.readyDescriptor].flatMap({ Int32($0) }), ready >= 0 else {
            return nil
        }
        readyDescriptor = Locked(ready)
        lifelineDescriptor = environment[WorkerHandshake.Variable.lifelineDescriptor].flatMap { Int32($0) }
        slot = environment[WorkerHandshake.Variable.index].flatMap { Int($0) }
        generation = environment[WorkerHandshake.Variable.generation].flatMap { Int($0) }
    }

    /// Tells the master this worker accepts requests, then closes the readiness descriptor.
    /// Call once the accept loop runs; later calls do nothing.
    public func announceReady() throws(SystemCallError) {
        guard
            let fd = readyDescriptor.withLock({ value -> Int32? in
                defer { value = nil }
                return value
            })
        else { return }
        defer { close(fd) }
        try Descriptors.writeAll(fd, Array(WorkerHandshake.readyLine.utf8))
    }

    /// Calls `onMasterGone` (once, on a background thread) when the master process has
    /// exited. Does nothing when the master gave no lifeline.
    public func watchMaster(_ onMasterGone: @escaping @Sendable () -> Void) {
        guard let fd = lifelineDescriptor, fd >= 0 else { return }
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { continue }  // the master never writes; ignore stray bytes
                if n < 0 && errno == EINTR { continue }
                break  // EOF (master gone) or an error that means the same
            }
            onMasterGone()
        }
        thread.name = "master-lifeline"
        thread.start()
    }
}
