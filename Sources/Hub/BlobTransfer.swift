import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The open `.incomplete` file of one blob download: what has been written, the
/// running digest, and the most bytes the current response may add.
///
/// Opened with `O_NOFOLLOW`: a symbolic link planted at the `.incomplete` path would
/// otherwise make the download truncate and overwrite whatever file it points at.
final class BlobTransfer {
    let path: URL
    let file: RemoteFile
    private let undeclaredLimit: Int64
    private var descriptor: Int32
    private(set) var offset: Int64
    /// The SHA-256 of an LFS file, fed as bytes arrive (such files run to gigabytes).
    /// A git blob id is computed once the file is complete instead: its header holds
    /// the final length, and the hub keeps such files under 10 MB.
    private var hasher: Digest?
    private var responseStarted = false
    /// Size of the whole file as announced (hub metadata, else this response's
    /// Content-Range / Content-Length), or the cap for files without an announced size.
    private var limit: (bytes: Int64, declared: Bool)?
    private(set) var errorBody = Data()

    init(path: URL, file: RemoteFile, undeclaredLimit: Int64) throws {
        self.path = path
        self.file = file
        self.undeclaredLimit = undeclaredLimit
        let opened = open(path.path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard opened >= 0 else { throw FileSystem.error(path, "create", errno) }
        descriptor = opened
        var status = stat()
        guard fstat(opened, &status) == 0 else {
            let code = errno
            FileSystem.closeDescriptor(opened)
            throw FileSystem.error(path, "inspect", code)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            FileSystem.closeDescriptor(opened)
            throw HubError.corruptCache(path: path.path, reason: "not a regular file")
        }
        var existing = Int64(status.st_size)
        if let size = file.size, existing > size { existing = 0 }
        offset = existing
        guard ftruncate(opened, off_t(existing)) == 0, lseek(opened, off_t(existing), SEEK_SET) >= 0 else {
            let code = errno
            FileSystem.closeDescriptor(opened)
            throw FileSystem.error(path, "prepare", code)
        }
        if file.isLFS {
            let hasher = try Digest(.sha256)
            if existing > 0 { try hasher.update(descriptor: opened, length: existing, path: path) }
            self.hasher = hasher
        }
    }

    var isComplete: Bool {
        guard let size = file.size else { return false }
        return offset == size
    }

    func startResponse() {
        responseStarted = false
        limit = nil
        errorBody = Data()
    }

    func receive(head: HTTPResponseHead, bytes: UnsafeRawBufferPointer, meter: DownloadMeter) throws {
        guard head.status == 200 || head.status == 206 else {
            // A redirect's or error's body: keep a little for the error message.
            if errorBody.count < 1024 { errorBody.append(contentsOf: bytes.prefix(1024 - errorBody.count)) }
            return
        }
        if !responseStarted {
            responseStarted = true
            if head.status == 200, offset > 0 {
                // The server ignored Range and sends everything: start the file over.
                try restart(meter: meter)
            } else if head.status == 206 {
                let start = head["content-range"].flatMap(BlobTransfer.rangeStart)
                guard start == offset else {
                    throw HubError.invalidResponse(
                        url: file.downloadURL,
                        reason: "asked for bytes from \(offset), got Content-Range '\(head["content-range"] ?? "")'")
                }
            }
            limit = responseLimit(head)
        }
        if let limit {
            let (total, overflow) = offset.addingReportingOverflow(Int64(bytes.count))
            if overflow || total > limit.bytes {
                throw HubError.oversized(file: file.name, limit: limit.bytes, declared: limit.declared)
            }
        }
        try FileSystem.writeAll(descriptor, bytes, path: path)
        hasher?.update(bytes)
        offset += Int64(bytes.count)
        meter.advance(by: bytes.count)
    }

    /// The hub's size when it gave one, else what this response announces, else the cap.
    private func responseLimit(_ head: HTTPResponseHead) -> (bytes: Int64, declared: Bool) {
        if let size = file.size { return (size, true) }
        if head.status == 206, let total = head["content-range"].flatMap(BlobTransfer.rangeTotal) {
            return (total, true)
        }
        if let length = head["content-length"].flatMap({ Int64($0) }), length >= 0 {
            let (total, overflow) = offset.addingReportingOverflow(length)
            return (overflow ? Int64.max : total, true)
        }
        return (undeclaredLimit, false)
    }

    func restart(meter: DownloadMeter) throws {
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) >= 0 else {
            throw FileSystem.error(path, "truncate", errno)
        }
        offset = 0
        if hasher != nil { hasher = try Digest(.sha256) }
        meter.restarted()
    }

    func sync() throws {
        guard fsync(descriptor) == 0 else { throw FileSystem.error(path, "flush", errno) }
    }

    /// The content's name as the hub computes it: SHA-256 for LFS files, the git blob
    /// id for the others. Call once, when the transfer is complete.
    func finalizeDigest() throws -> String {
        if let hasher {
            self.hasher = nil
            return hasher.finalize()
        }
        let digest = try Digest.gitBlob(length: offset)
        try digest.update(descriptor: descriptor, length: offset, path: path)
        return digest.finalize()
    }

    func close() {
        guard descriptor >= 0 else { return }
        FileSystem.closeDescriptor(descriptor)
        descriptor = -1
    }

    deinit { close() }

    /// "bytes 100-199/200" -> 100.
    static func rangeStart(_ header: String) -> Int64? {
        let parts = header.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "/" })
        guard parts.count >= 2, parts[0].lowercased() == "bytes" else { return nil }
        return Int64(parts[1])
    }

    /// "bytes 100-199/200" -> 200; nil for "*" or anything malformed.
    static func rangeTotal(_ header: String) -> Int64? {
        guard let slash = header.lastIndex(of: "/"), let total = Int64(header[header.index(after: slash)...]), total >= 0
        else { return nil }
        return total
    }
}
