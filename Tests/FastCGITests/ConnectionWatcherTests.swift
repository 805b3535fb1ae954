import Glibc
import POSIX
import Testing

@testable import FastCGI

/// The watcher on a socketpair standing in for nginx's FastCGI connection.
@Suite struct ConnectionWatcherTests {
    /// A running watcher over one end of a socketpair; the test holds the other (the "web server").
    final class Harness {
        let watcher: ConnectionWatcher
        let thread: pthread_t
        var ours: Int32
        var peer: Int32

        init() throws {
            watcher = try ConnectionWatcher()
            var fds: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
            ours = fds[0]
            peer = fds[1]
            thread = try spawnThread(stackBytes: 256 * 1024) { [watcher] in watcher.run() }
        }

        func closePeer() {
            Glibc.close(peer)
            peer = -1
        }

        deinit {
            watcher.shutdown()
            pthread_join(thread, nil)
            Glibc.close(ours)
            if peer >= 0 { Glibc.close(peer) }
        }
    }

    @Test func peerClosingCancelsTheToken() throws {
        let harness = try Harness()
        let token = RequestCancellation()
        _ = harness.watcher.watch(harness.ours, token: token)
        usleep(100_000)
        #expect(!token.isCancelled)
        harness.closePeer()
        #expect(ServerEndToEndTests.eventually(1) { token.isCancelled })
        #expect(token.reason?.contains("closed the connection") == true)
        #expect(ServerEndToEndTests.eventually(1) { harness.watcher.watching == 0 })
    }

    /// The empty FCGI_STDIN record that may follow a body is left unread and is no abort; a
    /// later hang-up is still seen.
    @Test func aPendingRecordIsNotAnAbortAndIsNotConsumed() throws {
        let harness = try Harness()
        let token = RequestCancellation()
        _ = harness.watcher.watch(harness.ours, token: token)
        let record = FastCGIRecord.stream(.stdin, requestID: 1, content: [])
        #expect(record.withUnsafeBytes { Glibc.write(harness.peer, $0.baseAddress, $0.count) } == record.count)
        usleep(200_000)
        #expect(!token.isCancelled)
        var available: Int32 = 0
        #expect(ioctl(harness.ours, UInt(FIONREAD), &available) == 0)
        #expect(Int(available) == record.count)
        harness.closePeer()
        #expect(ServerEndToEndTests.eventually(1) { token.isCancelled })
    }

    @Test func abortRequestCancelsTheToken() throws {
        let harness = try Harness()
        let token = RequestCancellation()
        _ = harness.watcher.watch(harness.ours, token: token)
        let abort = FastCGIRecord.encode(.abortRequest, requestID: 1, content: [])
        #expect(abort.withUnsafeBytes { Glibc.write(harness.peer, $0.baseAddress, $0.count) } == abort.count)
        #expect(ServerEndToEndTests.eventually(1) { token.isCancelled })
        #expect(token.reason?.contains("FCGI_ABORT_REQUEST") == true)
    }

    /// An unwatched connection's hang-up touches no token.
    @Test func unwatchedConnectionsAreLeftAlone() throws {
        let harness = try Harness()
        let token = RequestCancellation()
        let key = harness.watcher.watch(harness.ours, token: token)
        harness.watcher.unwatch(key)
        harness.closePeer()
        usleep(200_000)
        #expect(!token.isCancelled)
        #expect(harness.watcher.watching == 0)
    }
}
