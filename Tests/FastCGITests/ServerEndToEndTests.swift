import Glibc
import Logging
import POSIX
import Testing

@testable import FastCGI

/// The responder loop on real sockets, driven by the module's FastCGI client from
/// plain threads (client calls block, so they stay off Swift's cooperative pool).
@Suite struct ServerEndToEndTests {
    static func socketPath(_ tag: String) -> String {
        "/tmp/fcgi-test-\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    /// Echoes what the request looked like, with an FNV-1a hash of the body.
    static let echo = ClosureHandler { request in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in request.body { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return HTTPResponse(json: [
            "method": .string(request.method.rawValue), "path": .string(request.path), "query": .string(request.query),
            "agent": .string(request.headers["user-agent"] ?? ""), "type": .string(request.headers["content-type"] ?? ""),
            "length": .int(request.body.count), "hash": .string(String(hash, radix: 16)),
        ])
    }

    /// Runs `body` on `count` threads at once and returns their results in order.
    static func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) throws -> [T] {
        let results = Locked([T?](repeating: nil, count: count))
        var threads: [pthread_t] = []
        for index in 0..<count {
            threads.append(
                try spawnThread(stackBytes: 1 << 20) {
                    let value = body(index)
                    results.withLock { $0[index] = value }
                })
        }
        for thread in threads { pthread_join(thread, nil) }
        return results.withLock { $0.map { $0! } }
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = MonotonicTime.now() + seconds
        while MonotonicTime.now() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    @Test func servesRequestsOverAUnixSocket() throws {
        let path = Self.socketPath("basic")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let records = LogRecorder()
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: Self.echo,
            configuration: FastCGIServerConfiguration(acceptThreads: 2), logger: records.logger)
        try server.start()
        defer {
            server.stop()
            server.wait()
            socket.close()
        }
        let client = FastCGIClient(address: .unix(path: path), timeoutSeconds: 10)

        let get = try client.send(.get, "/health", query: "a=1", headers: [("User-Agent", "tests/1")])
        #expect(get.status == 200)
        #expect(get.headers["content-type"] == "application/json")
        let getJSON = try JSONParser().parse(get.body)
        #expect(getJSON["path"] == "/health" && getJSON["query"] == "a=1" && getJSON["agent"] == "tests/1" && getJSON["length"] == 0)

        // A body spanning several FCGI_STDIN records.
        var generator = SeededGenerator(seed: 1)
        let body = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let post = try client.send(.post, "/embed/images", headers: [("Content-Type", "application/octet-stream")], body: body)
        #expect(post.status == 200)
        let postJSON = try JSONParser().parse(post.body)
        #expect(postJSON["length"] == .int(body.count))
        #expect(postJSON["hash"] == .string(String(hash, radix: 16)))
        #expect(postJSON["type"] == "application/octet-stream")

        #expect(Self.eventually { records.requests.count == 2 })
        let logged = records.requests
        #expect(logged.map(\.path) == ["/health", "/embed/images"])
        #expect(logged.map(\.message) == ["GET /health 200", "POST /embed/images 200"])
        #expect(logged[1].requestBytes == body.count && logged[1].status == 200 && logged[1].delivered == true)
        #expect(logged.allSatisfy { $0.responseBytes > 0 && $0.seconds >= 0 && (0..<2).contains($0.thread) })
    }

    /// N accept threads hold N requests in the handler at once; `stop()` lets them all
    /// finish and deliver their answers before `wait()` returns.
    @Test func holdsConcurrentRequestsAndDrainsOnStop() throws {
        let path = Self.socketPath("drain")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let gate = Locked((arrived: 0, open: false))
        let handler = ClosureHandler { request in
            gate.withLock { $0.arrived += 1 }
            gate.wait(until: { $0.open }, then: { _ in })
            return HTTPResponse(json: ["path": .string(request.path)])
        }
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: handler, configuration: FastCGIServerConfiguration(acceptThreads: 4))
        try server.start()
        let client = FastCGIClient(address: .unix(path: path), timeoutSeconds: 20)

        let waiter = Locked(false)
        let results = Locked([Int]())
        var clientThreads: [pthread_t] = []
        for index in 0..<4 {
            clientThreads.append(
                try spawnThread(stackBytes: 1 << 20) {
                    let status = (try? client.send(.post, "/r\(index)", body: [1, 2, 3]))?.status ?? -1
                    results.withLock { $0.append(status) }
                })
        }
        // All four are inside the handler at the same time.
        #expect(Self.eventually { gate.withLock { $0.arrived } == 4 })
        #expect(server.inFlight == 4)

        server.stop()
        let waitThread = try spawnThread(stackBytes: 1 << 20) {
            server.wait()
            waiter.withLock { $0 = true }
        }
        usleep(300_000)
        // Stopping does not abandon in-flight requests: wait() is still blocked on them.
        #expect(waiter.withLock { $0 } == false)
        #expect(results.withLock { $0.isEmpty })

        gate.withLock { $0.open = true }
        for thread in clientThreads { pthread_join(thread, nil) }
        pthread_join(waitThread, nil)
        #expect(waiter.withLock { $0 })
        #expect(results.withLock { $0 } == [200, 200, 200, 200])
        #expect(server.inFlight == 0 && server.served == 4)

        // Nothing accepts any more; closing removes the socket file.
        socket.close()
        #expect(throws: FastCGIClient.Failure.self) { try client.send(.get, "/late") }
    }

    @Test func bodyLimitsAndBrokenBodies() throws {
        let path = Self.socketPath("limits")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let calls = Locked(0)
        let handler = ClosureHandler { request in
            calls.withLock { $0 += 1 }
            return HTTPResponse(json: ["length": .int(request.body.count)])
        }
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: handler,
            configuration: FastCGIServerConfiguration(acceptThreads: 1, maxBodyBytes: 1000))
        try server.start()
        defer {
            server.stop()
            server.wait()
            socket.close()
        }
        let client = FastCGIClient(address: .unix(path: path), timeoutSeconds: 10)

        let tooLarge = try client.send(.post, "/x", body: Array(repeating: 1, count: 200_000))
        #expect(tooLarge.status == 413)
        #expect(String(decoding: tooLarge.body, as: UTF8.self) == #"{"detail":"Request body too large"}"#)

        // No CONTENT_LENGTH: read to the end of FCGI_STDIN, still bounded.
        let unknownTooLarge = try client.send(.post, "/x", body: Array(repeating: 1, count: 1001), extraParameters: ["CONTENT_LENGTH": ""])
        #expect(unknownTooLarge.status == 413)
        let unknownFine = try client.send(.post, "/x", body: Array(repeating: 1, count: 1000), extraParameters: ["CONTENT_LENGTH": ""])
        #expect(unknownFine.status == 200)
        #expect(try JSONParser().parse(unknownFine.body)["length"] == 1000)

        let truncated = try client.send(.post, "/x", body: Array(repeating: 1, count: 10), contentLength: 100)
        #expect(truncated.status == 400)
        let badLength = try client.send(.post, "/x", body: [1], extraParameters: ["CONTENT_LENGTH": "abc"])
        #expect(badLength.status == 400)

        let exact = try client.send(.post, "/x", body: Array(repeating: 1, count: 1000))
        #expect(exact.status == 200)
        // Only the two acceptable bodies reached the handler.
        #expect(calls.withLock { $0 } == 2)
    }

    /// Two servers on one listening socket, as pool workers share an inherited fd:
    /// stopping one leaves the other serving.
    @Test func twoServersShareASocketAndStopIndependently() throws {
        let path = Self.socketPath("shared")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let inherited = try ListeningSocket.inherit(fd: dup(socket.fileDescriptor))
        let first = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: ClosureHandler { _ in HTTPResponse(text: "first") },
            configuration: FastCGIServerConfiguration(acceptThreads: 2))
        let second = try FastCGIServer(
            listeningDescriptor: inherited.fileDescriptor, handler: ClosureHandler { _ in HTTPResponse(text: "second") },
            configuration: FastCGIServerConfiguration(acceptThreads: 2))
        try first.start()
        try second.start()
        let client = FastCGIClient(address: .unix(path: path), timeoutSeconds: 10)

        let before = try Self.concurrently(8) { _ in (try? client.send(.get, "/who"))?.text ?? "failed" }
        #expect(before.allSatisfy { $0 == "first" || $0 == "second" })

        first.stop()
        first.wait()
        let servedBySecond = second.served
        let after = try Self.concurrently(6) { _ in (try? client.send(.get, "/who"))?.text ?? "failed" }
        #expect(after == Array(repeating: "second", count: 6))
        #expect(second.served == servedBySecond + 6)

        second.stop()
        second.wait()
        inherited.close()
        socket.close()
    }

    @Test func tcpLoopbackAndInheritChecks() throws {
        let socket = try ListeningSocket.bind(.tcp(host: "127.0.0.1", port: 0))
        let port = try #require(socket.localPort)
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: Self.echo, configuration: FastCGIServerConfiguration(acceptThreads: 1))
        try server.start()
        defer {
            server.stop()
            server.wait()
            socket.close()
        }
        let response = try FastCGIClient(address: .tcp(host: "127.0.0.1", port: port)).send(.get, "/tcp")
        #expect(response.status == 200)
        #expect(try JSONParser().parse(response.body)["path"] == "/tcp")

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        #expect(throws: ListenError.notAListeningSocket(fd: fds[0])) { try ListeningSocket.inherit(fd: fds[0]) }
        #expect(throws: ServerError.alreadyStarted) { try server.start() }
    }

    /// A peer that stalls is cut off by the I/O timeout instead of holding a thread:
    /// over TCP before its request head is complete, over a unix socket inside the body.
    @Test func stalledPeersTimeOut() throws {
        let tcp = try ListeningSocket.bind(.tcp(host: "127.0.0.1", port: 0))
        let unixPath = Self.socketPath("stall")
        let unix = try ListeningSocket.bind(.unix(path: unixPath))
        let configuration = FastCGIServerConfiguration(acceptThreads: 1, ioTimeoutSeconds: 1)
        let tcpServer = try FastCGIServer(listeningDescriptor: tcp.fileDescriptor, handler: Self.echo, configuration: configuration)
        let unixServer = try FastCGIServer(listeningDescriptor: unix.fileDescriptor, handler: Self.echo, configuration: configuration)
        try tcpServer.start()
        try unixServer.start()

        // TCP: connect, send half a record header, then nothing. The only accept thread is
        // freed by the timeout and serves the next client.
        let port = try #require(tcp.localPort)
        let idle = try FastCGIConnection.open(.tcp(host: "127.0.0.1", port: port), timeoutSeconds: 10)
        try idle.write([1, 1, 0])
        usleep(100_000)
        let started = MonotonicTime.now()
        let next = try FastCGIClient(address: .tcp(host: "127.0.0.1", port: port), timeoutSeconds: 10).send(.get, "/after")
        #expect(next.status == 200)
        #expect(started.elapsed < 5)
        idle.close()

        // Unix: a complete head, CONTENT_LENGTH 100, 10 bytes of body, then silence.
        let stalled = try FastCGIConnection.open(.unix(path: unixPath), timeoutSeconds: 10)
        var wire = FastCGIRecord.beginRequest(requestID: 1, keepConnection: false)
        wire += FastCGIRecord.stream(
            .params, requestID: 1,
            content: FastCGIRecord.nameValuePairs([
                ("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/slow"), ("CONTENT_LENGTH", "100"),
            ]))
        wire += FastCGIRecord.encode(.stdin, requestID: 1, content: Array(repeating: 7, count: 10)[...])
        try stalled.write(wire)
        // The server gives up on the body and answers 400 on the same connection.
        let header = try #require(try stalled.read(exactly: 8))
        #expect(header[1] == FastCGIRecord.RecordType.stdout.rawValue)
        let length = Int(header[4]) << 8 | Int(header[5])
        let content = try #require(try stalled.read(exactly: length + Int(header[6])))
        #expect(String(decoding: content.prefix(length), as: UTF8.self).hasPrefix("Status: 400"))
        stalled.close()

        for server in [tcpServer, unixServer] {
            server.stop()
            server.wait()
        }
        tcp.close()
        unix.close()
    }

    /// A client that hangs up before reading a large answer costs a failed write (logged
    /// as not delivered), not the process; the next request is served normally.
    @Test func clientHangingUpMidResponse() throws {
        let path = Self.socketPath("hangup")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let records = LogRecorder()
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 8 << 20)
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor,
            handler: ClosureHandler { request in
                request.path == "/big" ? HTTPResponse(status: 200, body: big) : HTTPResponse(text: "small")
            },
            configuration: FastCGIServerConfiguration(acceptThreads: 1), logger: records.logger)
        try server.start()
        defer {
            server.stop()
            server.wait()
            socket.close()
        }
        let connection = try FastCGIConnection.open(.unix(path: path), timeoutSeconds: 10)
        var wire = FastCGIRecord.beginRequest(requestID: 1, keepConnection: false)
        wire += FastCGIRecord.stream(.params, requestID: 1, content: FastCGIRecord.nameValuePairs([("DOCUMENT_URI", "/big")]))
        wire += FastCGIRecord.stream(.stdin, requestID: 1, content: [])
        try connection.write(wire)
        _ = try connection.read(exactly: 8)  // the answer has started
        connection.close()

        #expect(Self.eventually { records.requests.count == 1 })
        #expect(records.requests.first?.delivered == false)
        #expect(records.messages(at: .warning).contains { $0.contains("client went away") && $0.contains("/big") })
        let after = try FastCGIClient(address: .unix(path: path), timeoutSeconds: 10).send(.get, "/small")
        #expect(after.text == "small")
    }

    /// The web server closing the connection while the handler runs cancels the request's
    /// token: the handler stops early, nothing is written, and a warning says what was skipped.
    @Test func webServerHangingUpCancelsTheRunningRequest() throws {
        let path = Self.socketPath("abandon")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let records = LogRecorder()
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor,
            handler: ClosureHandler { request in
                guard request.path == "/slow" else { return HTTPResponse(text: "quick") }
                // Ten "items" of 0.5 s each, checking the token between them.
                for item in 0..<10 {
                    if request.cancellation.isCancelled {
                        request.cancellation.recordSkipped("\(10 - item) of 10 items")
                        return HTTPResponse(text: "unread")
                    }
                    usleep(500_000)
                }
                return HTTPResponse(text: "all done")
            },
            configuration: FastCGIServerConfiguration(acceptThreads: 1), logger: records.logger)
        try server.start()
        defer {
            server.stop()
            server.wait()
            socket.close()
        }
        let connection = try FastCGIConnection.open(.unix(path: path), timeoutSeconds: 10)
        var wire = FastCGIRecord.beginRequest(requestID: 1, keepConnection: false)
        wire += FastCGIRecord.stream(
            .params, requestID: 1, content: FastCGIRecord.nameValuePairs([("DOCUMENT_URI", "/slow"), ("CONTENT_LENGTH", "3")]))
        wire += FastCGIRecord.stream(.stdin, requestID: 1, content: Array("abc".utf8))
        try connection.write(wire)
        usleep(700_000)  // the handler is inside its second item
        connection.close()

        #expect(Self.eventually { records.requests.count == 1 })
        // Without the watcher the handler runs all ten items and answers "all done"; with it, it
        // stops at its next check and records what it skipped (the warning below). That count, not
        // a wall-clock bound, is the evidence: a loaded CI run once starved a test thread for 26 s.
        #expect(records.requests.first?.delivered == false)
        let warnings = records.messages(at: .warning)
        #expect(warnings.contains { $0.contains("request abandoned") && $0.contains("/slow") && $0.contains("of 10 items") })
        #expect(!warnings.contains { $0.contains("client went away") })
        let after = try FastCGIClient(address: .unix(path: path), timeoutSeconds: 10).send(.get, "/quick")
        #expect(after.text == "quick")
    }

    /// Each request's line carries nginx's request id and the metadata of the logger the
    /// server was given (the worker puts its name and pid there).
    @Test func requestLinesCarryTheRequestIDAndTheLoggersMetadata() throws {
        let path = Self.socketPath("rid")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let records = LogRecorder()
        var logger = records.logger
        logger[metadataKey: "worker"] = "worker 1"
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: Self.echo, configuration: FastCGIServerConfiguration(acceptThreads: 1),
            logger: logger)
        try server.start()
        defer {
            server.stop()
            server.wait()
            socket.close()
        }
        let client = FastCGIClient(address: .unix(path: path), timeoutSeconds: 10)
        _ = try client.send(.get, "/a", extraParameters: ["REQUEST_ID": "0123456789abcdef0123456789abcdef"])
        _ = try client.send(.get, "/b", headers: [("X-Request-ID", "from-a-balancer")])
        _ = try client.send(.get, "/c")
        #expect(Self.eventually { records.requests.count == 3 })
        let logged = records.requests
        #expect(
            logged.map { $0.metadata[RequestLog.Key.requestID]?.description } == [
                "0123456789abcdef0123456789abcdef", "from-a-balancer", nil,
            ])
        #expect(logged.allSatisfy { $0.metadata["worker"] == "worker 1" })
    }
}

/// Collects what the server logs, with the handler's and the event's metadata merged.
final class LogRecorder: LogHandler, @unchecked Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata

        // The request line's fields, as `RequestLog` writes them.
        var path: String { String(message.split(separator: " ").dropFirst().first ?? "") }
        var status: Int { Int(message.split(separator: " ").last ?? "") ?? -1 }
        var requestBytes: Int { Int(metadata[RequestLog.Key.requestBytes]?.description ?? "") ?? -1 }
        var responseBytes: Int { Int(metadata[RequestLog.Key.responseBytes]?.description ?? "") ?? -1 }
        var seconds: Double { (Double(metadata[RequestLog.Key.milliseconds]?.description ?? "") ?? -1000) / 1000 }
        var thread: Int { Int(metadata[RequestLog.Key.thread]?.description ?? "") ?? -1 }
        var delivered: Bool? { metadata[RequestLog.Key.delivered].map { $0.description == "true" } }
    }

    private let records = Locked([Record]())
    private let storedMetadata = Locked(Logger.Metadata())
    var metadata: Logger.Metadata {
        get { storedMetadata.withLock { $0 } }
        set { storedMetadata.withLock { $0 = newValue } }
    }
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    var logger: Logger { Logger(label: "test.fastcgi") { _ in self } }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        records.withLock { $0.append(Record(level: event.level, message: event.message.description, metadata: merged)) }
    }

    /// The per-request lines (info, with the request fields).
    var requests: [Record] {
        records.withLock { $0.filter { $0.level == .info && $0.metadata[RequestLog.Key.thread] != nil } }
    }

    func messages(at level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.level == level }.map(\.message) }
    }
}
