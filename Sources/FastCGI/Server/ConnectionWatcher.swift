import CFastCGI
import Glibc
import POSIX

/// Watches the connections of the requests in flight and cancels a request's token when the
/// web server gives up on it: nginx (with its default `fastcgi_ignore_client_abort off`)
/// closes the FastCGI connection when the client hangs up or a timeout fires, and could send
/// `FCGI_ABORT_REQUEST`.
///
/// One thread polls every watched descriptor at once (`poll(2)`), with a pipe that wakes it
/// when the set changes, instead of one thread per request. A request is watched only once its
/// body has been read, so what the poll can see is:
/// - hang-up (`POLLRDHUP`, `POLLHUP`, `POLLERR`) or a readable end of file: the connection
///   is gone, the request abandoned;
/// - readable bytes: a record arriving after the body. `FCGI_ABORT_REQUEST` abandons the
///   request; anything else (the empty `FCGI_STDIN` record that ends a body whose
///   `CONTENT_LENGTH` was reached before it) is left for libfcgi, and the descriptor is then
///   polled for hang-ups only (so readable bytes cannot make the thread spin).
/// Bytes are only ever peeked (`MSG_PEEK`), never consumed: the stream belongs to libfcgi.
final class ConnectionWatcher: Sendable {
    /// Linux's `POLLRDHUP` (the peer shut its writing side), which Glibc's module leaves out
    /// (it is behind `_GNU_SOURCE`); 0x2000 on every architecture Swift runs on.
    private let pollReadHangUp: Int32 = 0x2000

    private struct Entry {
        let fd: Int32
        let token: RequestCancellation
        /// Readable bytes were seen and were not an abort: poll for hang-ups only.
        var hangUpOnly = false
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var nextKey = 0
        var stopping = false
    }

    private let state = Locked(State())
    private let changeRead: Int32
    private let changeWrite: Int32

    init() throws(ServerError) {
        var fds: [Int32] = [0, 0]
        guard cfcgi_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else {
            throw .system(.last("pipe2", subject: "connection watcher pipe"))
        }
        changeRead = fds[0]
        changeWrite = fds[1]
    }

    deinit {
        Glibc.close(changeRead)
        Glibc.close(changeWrite)
    }

    /// Starts watching `fd` for `token`; returns the key to pass to `unwatch`.
    func watch(_ fd: Int32, token: RequestCancellation) -> Int {
        let key = state.withLock { current -> Int in
            defer { current.nextKey += 1 }
            current.entries[current.nextKey] = Entry(fd: fd, token: token)
            return current.nextKey
        }
        wake()
        return key
    }

    /// Stops watching (before the connection is closed, so a reused descriptor is never
    /// mistaken for it for long: a stale poll only ever touches the old, finished token).
    func unwatch(_ key: Int) {
        state.withLock { _ = $0.entries.removeValue(forKey: key) }
        wake()
    }

    /// Makes `run()` return.
    func shutdown() {
        state.withLock { $0.stopping = true }
        wake()
    }

    /// Descriptors being watched (for tests).
    var watching: Int { state.withLock { $0.entries.count } }

    /// The polling loop; returns after `shutdown()`.
    func run() {
        while true {
            let snapshot = state.withLock { current -> [(Int, Entry)]? in
                current.stopping ? nil : current.entries.sorted { $0.key < $1.key }
            }
            guard let snapshot else { return }
            var pollSet = [pollfd(fd: changeRead, events: Int16(POLLIN), revents: 0)]
            for (_, entry) in snapshot {
                let events = entry.hangUpOnly ? pollReadHangUp : pollReadHangUp | Int32(POLLIN)
                pollSet.append(pollfd(fd: entry.fd, events: Int16(truncatingIfNeeded: events), revents: 0))
            }
            let ready = poll(&pollSet, nfds_t(pollSet.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                usleep(10_000)  // cannot happen with valid arguments; never spin
                continue
            }
            if pollSet[0].revents != 0 { drainChanges() }
            for (index, (key, entry)) in snapshot.enumerated() {
                let events = Int32(pollSet[index + 1].revents)
                guard events != 0 else { continue }
                switch inspect(entry.fd, events: events) {
                case .abandoned(let reason):
                    entry.token.cancel(reason: reason)
                    state.withLock { _ = $0.entries.removeValue(forKey: key) }
                case .pendingRecord:
                    state.withLock { $0.entries[key]?.hangUpOnly = true }
                }
            }
        }
    }

    private enum Finding {
        case abandoned(String)
        case pendingRecord
    }

    private func inspect(_ fd: Int32, events: Int32) -> Finding {
        if events & Int32(POLLNVAL) != 0 { return .abandoned("connection descriptor \(fd) is no longer open") }
        if events & Int32(pollReadHangUp | Int32(POLLHUP | POLLERR)) != 0 { return .abandoned("the web server closed the connection") }
        // Readable: end of file, an abort, or a record libfcgi has not read yet.
        var header = [UInt8](repeating: 0, count: 8)
        let peeked = recv(fd, &header, header.count, Int32(MSG_PEEK | MSG_DONTWAIT))
        if peeked == 0 { return .abandoned("the web server closed the connection") }
        if peeked < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .pendingRecord }
            return .abandoned("connection error: \(SystemCallError.last("recv", subject: "fd \(fd)"))")
        }
        // A FastCGI record header: version 1, then the type; 2 is FCGI_ABORT_REQUEST.
        if peeked >= 2, header[0] == 1, header[1] == 2 { return .abandoned("the web server sent FCGI_ABORT_REQUEST") }
        return .pendingRecord
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(changeWrite, &byte, 1)
    }

    private func drainChanges() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while Glibc.read(changeRead, &buffer, buffer.count) > 0 {}
    }
}
