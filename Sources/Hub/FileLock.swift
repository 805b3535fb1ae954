import Foundation
import Glibc

/// An exclusive advisory lock on a file (flock(2)), held until `unlock` or deinit.
///
/// Keeps two processes (or two threads: each lock opens its own descriptor, and
/// flock locks belong to the open file description) from downloading the same
/// blob at once. huggingface_hub's `filelock` uses flock on the same
/// `.locks/<repo>/<etag>.lock` path, so Python and Swift downloaders exclude each
/// other too. The lock file is never deleted: deleting it would let a third
/// process lock a fresh inode while the first still holds the old one.
final class FileLock {
    let path: URL
    private var descriptor: Int32 = -1

    init(path: URL) {
        self.path = path
    }

    deinit { unlock() }

    /// Takes the lock without waiting; false when someone else holds it.
    func tryLock() throws(HubError) -> Bool {
        try openIfNeeded()
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK || errno == EINTR { return false }
        throw FileSystem.error(path, "lock", errno)
    }

    /// Waits for the lock, polling so that cancellation is noticed. `onWait` runs
    /// once, when the lock turns out to be busy (for a log line).
    func lock(pollInterval: TimeInterval, cancellation: CancellationFlag, onWait: () -> Void) throws(HubError) {
        if try tryLock() { return }
        onWait()
        while true {
            try cancellation.sleep(pollInterval)
            if try tryLock() { return }
        }
    }

    func unlock() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    private func openIfNeeded() throws(HubError) {
        guard descriptor < 0 else { return }
        try FileSystem.createDirectory(path.deletingLastPathComponent())
        let opened = open(path.path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard opened >= 0 else { throw FileSystem.error(path, "open lock file", errno) }
        descriptor = opened
    }
}
