import Foundation
import Glibc

/// Small POSIX helpers with `HubError` results (Foundation's errors lose errno,
/// and ENOSPC must become an actionable "disk full").
enum FileSystem {
    static func error(_ path: URL, _ operation: String, _ code: Int32) -> HubError {
        if code == ENOSPC || code == EDQUOT {
            return .diskFull(directory: path.deletingLastPathComponent().path, neededBytes: nil, availableBytes: nil)
        }
        if code == ELOOP {
            // O_NOFOLLOW met a symbolic link where the cache layout has a plain file.
            return .corruptCache(path: path.path, reason: "a symbolic link where a plain file belongs; not followed")
        }
        return .fileSystem(path: path.path, operation: operation, reason: String(cString: strerror(code)))
    }

    static func createDirectory(_ url: URL) throws(HubError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .fileSystem(path: url.path, operation: "create directory", reason: error.localizedDescription)
        }
    }

    static func uniqueSuffix() -> String { String(UInt64.random(in: 0...UInt64.max), radix: 36) }

    /// Writes via a temporary file in the same folder and rename(2).
    static func writeAtomically(_ data: Data, to url: URL) throws(HubError) {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent("\(url.lastPathComponent).\(uniqueSuffix()).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw error(temporary, "create", errno) }
        let outcome = data.withUnsafeBytes { bytes in
            Result { () throws(HubError) in try writeAll(descriptor, bytes, path: temporary) }
        }
        close(descriptor)
        if case .failure(let failure) = outcome {
            unlink(temporary.path)
            throw failure
        }
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw error(url, "rename into place", code)
        }
    }

    /// write(2) until everything is written, retrying EINTR.
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: URL) throws(HubError) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw error(path, "write", errno)
            }
            offset += written
        }
    }

    /// Size of a regular file, or nil when it does not exist.
    static func fileSize(_ url: URL) -> Int64? {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return nil }
        return Int64(status.st_size)
    }

    static func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }

    /// True for a regular file that is not a symbolic link (lstat): a blob must be one.
    static func isRegularFile(_ url: URL) -> Bool {
        var status = stat()
        return lstat(url.path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    /// The bytes of a small cache file (a ref), opened with O_NOFOLLOW; nil when it does
    /// not exist. More than `limit` bytes is an error: refs hold one commit hash.
    static func readSmallFile(_ url: URL, limit: Int = 4096) throws(HubError) -> Data? {
        let descriptor = open(url.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw error(url, "read", errno)
        }
        defer { closeDescriptor(descriptor) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw error(url, "read", errno)
            }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
            if data.count > limit {
                throw .corruptCache(path: url.path, reason: "larger than \(limit) bytes")
            }
        }
    }

    /// Bytes an unprivileged process may still write on the volume holding `url`.
    static func availableBytes(at url: URL) -> Int64? {
        var info = statvfs()
        guard statvfs(url.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
