import Foundation
import Glibc

@testable import POSIX

/// A private temporary directory with a short path (unix socket paths are limited to 107 bytes).
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/pxt.XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made = result else { throw SystemCallError.last("mkdtemp") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }
}

/// Connects to a unix socket; returns the descriptor or -1.
func connectUnix(_ path: String) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0, let address = try? SocketAddress.unix(path) else { return -1 }
    guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
        close(fd)
        return -1
    }
    return fd
}

/// Polls `condition` every 5 ms for up to `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicTime.now() + seconds
    while MonotonicTime.now() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// Runs `body` with the process's umask set to `mask`, one caller at a time. The umask is the
/// whole test process's: two parallel cases each saving and restoring it once left it at 077 for
/// every later suite (their run directories untraversable by nginx's workers, nginx's temp files
/// unwritable: 500s), so callers are serialised and the window is only `body`.
func withUmask<T>(_ mask: mode_t, _ body: () throws -> T) rethrows -> T {
    try umaskLock.withLock { _ in
        let previous = umask(mask)
        defer { umask(previous) }
        return try body()
    }
}

private let umaskLock = Locked(())
