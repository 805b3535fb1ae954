import FastCGI
import Foundation
import Logging
import POSIX
import Testing

@testable import EmbeddingService

/// The bounded queue's configuration and the master's overload answer (issue 12).
@Suite struct OverloadResponderTests {
    let budget = CPUBudget(allowed: 2)

    @Test func theQueueDefaultsToOneWaitingRequestPerSlot() throws {
        let config = try ServiceConfiguration.fromEnvironment(
            ["COLPALI_WORKERS": "2", "COLPALI_REQUESTS_PER_WORKER": "3", "COLPALI_RUN_DIR": "/tmp/q"], cpuBudget: budget)
        #expect(config.effectiveQueueDepth == 6)
        // Linux admits one pending connect more than the backlog.
        #expect(config.listenBacklog == 5)
        #expect(config.overloadAddress == .unix(path: "/tmp/q/colmodernvbert-overload.sock"))
        let set = try ServiceConfiguration.fromEnvironment(["COLPALI_QUEUE_DEPTH": "1", "COLPALI_RETRY_AFTER": "7"], cpuBudget: budget)
        #expect(set.effectiveQueueDepth == 1)
        #expect(set.listenBacklog == 0)
        #expect(set.retryAfterSeconds == 7)
        #expect(throws: (any Error).self) { try ServiceConfiguration.fromEnvironment(["COLPALI_QUEUE_DEPTH": "0"], cpuBudget: budget) }
    }

    @Test func aTCPPoolHasNoOverflowSocket() throws {
        let config = try ServiceConfiguration.fromEnvironment(["COLPALI_LISTEN": "127.0.0.1:9000"], cpuBudget: budget)
        #expect(config.overloadAddress == nil)
        #expect(try ServiceConfiguration.overloadAddress(fromEnvironment: ["COLPALI_LISTEN": "127.0.0.1:9000"]) == nil)
        #expect(
            try ServiceConfiguration.overloadAddress(fromEnvironment: ["COLPALI_RUN_DIR": "/tmp/r"])
                == .unix(path: "/tmp/r/colmodernvbert-overload.sock"))
    }

    /// The listen backlog really bounds the queue: with depth 2, the third pending connect to
    /// the unix socket fails at once with EAGAIN (what nginx sees, and moves to the backup on).
    @Test func aFullBacklogRefusesAtOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "overload-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var config = ServiceConfiguration(runDirectory: directory)
        config.queueDepth = 2
        let path = directory.appendingPathComponent("pool.sock").path
        let socket = try ListeningSocket.bind(.unix(path: path), backlog: config.listenBacklog)
        defer { socket.close() }
        var clients: [Int32] = []
        defer { for fd in clients { close(fd) } }
        var refusal: Int32 = 0
        for _ in 0..<4 {
            let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            clients.append(fd)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 {
                refusal = errno
                break
            }
        }
        #expect(clients.count == 3, "two connects wait in the backlog, the third is refused")
        #expect(refusal == EAGAIN)
    }

    /// The responder on its own socket answers every request with 503, Retry-After and the
    /// API's detail, at once.
    @Test func answers503WithRetryAfter() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "overload-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let address = ListenAddress.unix(path: directory.appendingPathComponent("overload.sock").path)
        let responder = try MasterResponder(
            listener: try ListeningSocket.bind(address), handler: OverloadAnswer(queueDepth: 3, retryAfterSeconds: 2),
            maxBodyBytes: 1 << 20, logger: Logger(label: "test"))
        try responder.start()
        defer { responder.stop() }
        let client = FastCGIClient(address: address, timeoutSeconds: 5)
        for (method, path, body) in [(HTTPMethod.post, "/embed/images", Array(repeating: UInt8(7), count: 100_000)), (.get, "/health", [])]
        {
            // The client's 5 s timeout is the bound: the responder never waits for a worker.
            let response = try client.send(method, path, headers: [("content-type", "application/octet-stream")], body: body)
            #expect(response.status == 503)
            #expect(response.headers.values("retry-after") == ["2"])
            #expect(response.text == #"{"detail":"Service overloaded: 3 requests are already waiting; retry later"}"#)
        }
        // Draining: the path is gone, so a connect is refused (nginx answers 502).
        responder.refuseNewConnections()
        #expect(throws: FastCGIClient.Failure.self) { try client.send(.get, "/health") }
    }
}
