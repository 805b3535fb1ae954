import Foundation
import Glibc
import POSIX
import ProcessTestSupport
import Testing

@testable import WorkerPool

/// The supervisor against real processes: fake workers are /bin/sh scripts that follow
/// the handshake (or deliberately break it). Every wait is bounded.
@Suite struct SupervisorTests {
    @Test func workersGetTheListenerOnFdZeroAndNothingElse() async throws {
        let script = """
            readlink /proc/self/fd/0 > "$TEST_DIR/fd0.$$"
            readlink /proc/self/fd/4 > "$TEST_DIR/fd4.$$"
            echo "$COLPALI_WORKER_READY_FD $COLPALI_WORKER_LIFELINE_FD $COLPALI_WORKER_INDEX $COLPALI_WORKER_GENERATION" > "$TEST_DIR/env.$$"
            trap 'exit 0' TERM
            echo ready >&3
            while :; do sleep 0.05; done
            """
        // A descriptor without close-on-exec, as a C library might leave one.
        let leaky = open("/dev/null", O_RDONLY)
        try #require(leaky > 4 && !Descriptors.isCloseOnExec(leaky))
        defer { close(leaky) }
        let pool = try PoolHarness(script: script, workers: 2)
        let listenerLink = try #require(descriptorLink(pool.supervisor.listener.fileDescriptor))
        pool.start()
        try await pool.waitForReady(2)
        let workers = pool.supervisor.snapshot.workers
        #expect(Set(workers.map(\.slot)) == [0, 1])
        for worker in workers {
            let read = { (name: String) in
                (try? String(contentsOfFile: pool.directory.file("\(name).\(worker.pid)"), encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(read("fd0") == listenerLink, "fd 0 is the master's listening socket")
            #expect(read("fd4")?.hasPrefix("socket:") == true, "fd 4 is the lifeline")
            #expect(read("env") == "3 4 \(worker.slot) 1")
            // Only stdio, the readiness and lifeline descriptors: nothing of the test
            // process (it has many descriptors open) leaked into the worker.
            let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker.pid)/fd").compactMap { Int32($0) }
            #expect(open.sorted() == [0, 1, 2, 3, 4])
            #expect(getpgid(worker.pid) == worker.pid, "each worker leads its own process group")
        }
        pool.supervisor.requestStop()
        let result = try await pool.waitForExit(timeout: 10)
        #expect((try? result.get()) != nil)
        #expect(access(pool.socketPath, F_OK) != 0, "the socket path is removed on stop")
        for worker in workers { #expect(!processExists(worker.pid)) }
        #expect(pool.supervisor.snapshot.phase == .stopped)
    }

    @Test func aWorkerAcceptsConnectionsOnFdZero() async throws {
        let python = ProcessInfo.processInfo.environment["COLPALI_TEST_PYTHON"] ?? "/usr/bin/python3"
        try #require(access(python, X_OK) == 0, "a Python interpreter to accept on fd 0 (\(python))")
        // The worker accepts on the inherited fd 0, as libfcgi does, and says who it is.
        let acceptor = """
            import os, socket, signal, sys
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            listener = socket.socket(fileno=0)
            os.write(3, b"ready\\n"); os.close(3)
            while True:
                connection, _ = listener.accept()
                connection.sendall(b"hello from %d" % os.getpid())
                connection.close()
            """
        let pool = try PoolHarness(script: acceptor, workers: 1, executable: python)
        pool.start()
        try await pool.waitForReady(1)
        let pid = try #require(pool.supervisor.snapshot.workers.first?.pid)
        let client = connectUnix(pool.socketPath)
        try #require(client >= 0)
        defer { close(client) }
        var buffer = [UInt8](repeating: 0, count: 64)
        var received: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        #expect(String(decoding: received, as: UTF8.self) == "hello from \(pid)")
        pool.supervisor.requestStop()
        #expect((try? await pool.waitForExit(timeout: 10).get()) != nil)
    }
}
