import CFastCGI
import Glibc
import Logging
import POSIX

/// A FastCGI responder over libfcgi's thread-safe API (`FCGX_Init`, `FCGX_InitRequest`,
/// `FCGX_Accept_r`, `FCGX_Finish_r`): N accept threads, each serving one request at a
/// time through the `RequestHandler`, so the process holds up to N requests at once.
///
/// ## Stopping without signals
/// A thread blocked inside `accept()` can only be woken by a connection or a signal,
/// and `FCGX_ShutdownPending` sets a process-wide flag that can never be cleared. So the
/// listening socket is made non-blocking and each thread waits in `poll()` on it and on a
/// wake-up pipe; only when the socket is readable does it call `FCGX_Accept_r`, which then
/// returns at once (a connection, or `-EAGAIN` when another thread or worker process won
/// it). `stop()` writes one byte to the pipe: every thread finishes the request it is
/// serving, sees the pipe readable, and exits; `wait()` joins them. Connections still in
/// the kernel backlog stay there for other processes sharing the socket.
///
/// Non-blocking is a property of the shared socket, so every process accepting on it
/// must accept this way (all workers of the pool do).
///
/// The server takes a descriptor, not an address: binding, inheriting and removing a socket
/// file belong to its owner (`POSIX.ListeningSocket`), which must keep it open while the
/// server runs. Signals are the owner's business too (the worker relays SIGTERM to `stop()`).
///
/// Each request is logged at info on `logger` (see `RequestLog`); trouble that has no
/// request to answer (accept failures, clients gone) at warning or error.
///
/// `start()` sets SIGPIPE to ignored for the whole process (a peer hanging up must be a
/// failed write, not a dead worker).
///
/// Each connection serves one request and is closed (nginx's default, no
/// `fastcgi_keep_conn`): a kept connection would tie a thread to an idle peer.
///
/// ## Abandoned requests
/// While a handler runs, a `ConnectionWatcher` thread polls the request's connection: when the
/// web server closes it (its client hung up, a timeout) or aborts the request, the request's
/// `HTTPRequest.cancellation` is cancelled, so the handler can drop its queued or remaining
/// work. Such a request is logged at warning with what it skipped, and nothing is written back.
public final class FastCGIServer: Sendable {
    /// The listening socket's descriptor (owned by the caller).
    public let listeningDescriptor: Int32
    public let configuration: FastCGIServerConfiguration
    private let handler: any RequestHandler
    private let logger: Logger
    private let watcher: ConnectionWatcher

    private struct State {
        var started = false
        var threads: [pthread_t] = []
        var watcherThread: pthread_t?
        var inFlight = 0
        var served = 0
    }

    private let state = Locked(State())
    /// Read end polled by accept threads, write end written by `stop()`.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    public init(
        listeningDescriptor: Int32, handler: some RequestHandler,
        configuration: FastCGIServerConfiguration = FastCGIServerConfiguration(),
        logger: Logger = Logger(label: "fastcgi")
    ) throws(ServerError) {
        self.listeningDescriptor = listeningDescriptor
        self.handler = handler
        self.configuration = configuration
        self.logger = logger
        var fds: [Int32] = [0, 0]
        guard cfcgi_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else {
            throw .system(.last("pipe2", subject: "wake-up pipe"))
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        do {
            watcher = try ConnectionWatcher()
        } catch {
            Glibc.close(fds[0])
            Glibc.close(fds[1])
            throw error
        }
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Requests currently inside the handler or being written.
    public var inFlight: Int { state.withLock { $0.inFlight } }
    /// Requests served since start.
    public var served: Int { state.withLock { $0.served } }

    /// Starts the accept threads and returns.
    public func start() throws(ServerError) {
        let alreadyStarted = state.withLock { current -> Bool in
            defer { current.started = true }
            return current.started
        }
        guard !alreadyStarted else { throw .alreadyStarted }
        let rc = FCGX_Init()
        guard rc == 0 else { throw .libraryInit(code: rc) }
        // libfcgi writes with write(2): a web server that hangs up mid-response would
        // raise SIGPIPE and kill the process. Every libfcgi application ignores it.
        signal(SIGPIPE, SIG_IGN)
        do throws(SystemCallError) {
            try Descriptors.setNonBlocking(listeningDescriptor)
        } catch {
            throw .system(SystemCallError(error.call, subject: "fd \(listeningDescriptor)", errno: error.errno))
        }
        // TCP connections inherit these from the listener, which bounds libfcgi's reads of
        // the request head too; unix connections do not, so `serve` sets them again.
        setTimeouts(listeningDescriptor)
        let watcherThread = try spawnThread(stackBytes: 256 * 1024) { [watcher] in watcher.run() }
        let count = max(1, configuration.acceptThreads)
        var threads: [pthread_t] = []
        for index in 0..<count {
            do {
                threads.append(try spawnThread(stackBytes: configuration.threadStackBytes) { [self] in acceptLoop(thread: index) })
            } catch {
                // Leave no half-started server: stop and join what did start.
                stop()
                for thread in threads { pthread_join(thread, nil) }
                watcher.shutdown()
                pthread_join(watcherThread, nil)
                throw error
            }
        }
        state.withLock {
            $0.threads = threads
            $0.watcherThread = watcherThread
        }
    }

    /// Begins a graceful stop: no new requests, in-flight ones complete. Returns at once;
    /// safe to call from a signal handler (it only `write`s to a pipe) and more than once.
    public func stop() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    /// Blocks until every accept thread has exited (after `stop()`).
    public func wait() {
        let (threads, watcherThread) = state.withLock { current -> ([pthread_t], pthread_t?) in
            defer {
                current.threads = []
                current.watcherThread = nil
            }
            return (current.threads, current.watcherThread)
        }
        for thread in threads { pthread_join(thread, nil) }
        // The watcher outlives the accept threads: requests finishing during a drain stay watched.
        if let watcherThread {
            watcher.shutdown()
            pthread_join(watcherThread, nil)
        }
    }

    /// `start()` then `wait()`: serves until `stop()` is called from elsewhere.
    public func run() throws(ServerError) {
        try start()
        wait()
    }

    // MARK: Accept loop

    private func acceptLoop(thread: Int) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        // libfcgi keeps pointers to the request inside its streams: it must not move.
        FCGX_InitRequest(request, listeningDescriptor, 0)
        var pollSet = [
            pollfd(fd: listeningDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            pollSet[0].revents = 0
            pollSet[1].revents = 0
            let ready = poll(&pollSet, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                let error = SystemCallError.last("poll", subject: "fd \(listeningDescriptor)")
                logger.error("accept thread \(thread) exits: \(error)")
                return
            }
            if pollSet[1].revents != 0 { return }  // stop() was called
            let listenEvents = Int32(pollSet[0].revents)
            if listenEvents & Int32(POLLNVAL | POLLERR) != 0 {
                logger.error("listening socket fd \(listeningDescriptor) is no longer usable; accept thread \(thread) exits")
                return
            }
            guard listenEvents & Int32(POLLIN) != 0 else { continue }
            let accepted = FCGX_Accept_r(request)
            if accepted < 0 {
                let code = -accepted
                if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { continue }
                logger.warning("\(SystemCallError("FCGX_Accept_r", subject: "fd \(listeningDescriptor)", errno: code))")
                if code == EBADF || code == ENOTSOCK || code == EINVAL { return }
                usleep(10_000)  // e.g. EMFILE: back off instead of spinning
                continue
            }
            serve(request, thread: thread)
            FCGX_Finish_r(request)
            FCGX_Free(request, 1)  // close a connection the web server asked to keep
        }
    }

    private func serve(_ request: UnsafeMutablePointer<FCGX_Request>, thread: Int) {
        let started = MonotonicTime.now()
        // ipcFd is libfcgi's connection descriptor; only socket options are set on it.
        setTimeouts(request.pointee.ipcFd)
        state.withLock { $0.inFlight += 1 }
        defer {
            state.withLock {
                $0.inFlight -= 1
                $0.served += 1
            }
        }
        let exchange = FCGXExchange(request: request)
        let parameters = exchange.parameters()
        var httpRequest = HTTPRequest(cgiParameters: parameters)
        let response: HTTPResponse
        switch exchange.readBody(declaredLength: HTTPRequest.declaredLength(parameters), limit: configuration.maxBodyBytes) {
        case .tooLarge:
            response = HTTPError.payloadTooLarge.response
        case .malformed:
            response = HTTPError.bodyParseError.response
        case .body(let body):
            httpRequest.body = body
            let watch = watcher.watch(request.pointee.ipcFd, token: httpRequest.cancellation)
            response = handler.handle(httpRequest)
            watcher.unwatch(watch)
        }
        let cancellation = httpRequest.cancellation
        // Nobody reads the answer to an abandoned request: it is not written.
        let delivered = cancellation.isCancelled ? false : exchange.write(response)
        let metadata = RequestLog.metadata(
            parameters: parameters, requestBytes: httpRequest.body.count, responseBytes: response.body.count,
            seconds: started.elapsed, thread: thread, delivered: delivered)
        logger.info("\(httpRequest.method.rawValue) \(httpRequest.path) \(response.status)", metadata: metadata)
        if let reason = cancellation.reason {
            let skipped = cancellation.skipped
            let what = skipped.isEmpty ? "its work had finished" : "skipped: \(skipped.joined(separator: "; "))"
            logger.warning(
                "request abandoned, \(httpRequest.method.rawValue) \(httpRequest.path): \(reason); \(what)", metadata: metadata)
        } else if !delivered {
            logger.warning(
                "client went away before the response to \(httpRequest.method.rawValue) \(httpRequest.path) was written",
                metadata: metadata)
        }
    }

    private func setTimeouts(_ fd: Int32) {
        guard configuration.ioTimeoutSeconds > 0, fd >= 0 else { return }
        var timeout = timeval(tv_sec: configuration.ioTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
