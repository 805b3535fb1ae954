import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Puts one file's bytes at `blobs/<etag>`, exactly once across processes.
///
/// Under the `.locks/<repo>/<etag>.lock` file lock it downloads into
/// `blobs/<etag>.incomplete`, resuming with `Range` from whatever an earlier,
/// interrupted attempt left there (in this process or a previous one), follows
/// redirects (dropping the token off the hub's origin), retries transient failures
/// with backoff, checks the size and, for LFS files, the SHA-256 the hub published
/// as ETag, then renames the file into place atomically. A blob that fails the
/// checks is deleted, never stored.
final class BlobDownloader {
    private let api: HubAPI
    private let cache: RepoCache

    init(api: HubAPI, cache: RepoCache) {
        self.api = api
        self.cache = cache
    }

    private var configuration: HubConfiguration { api.configuration }

    /// Makes sure the blob exists; returns false when it was already there (or
    /// another process finished it while this one waited for the lock).
    @discardableResult
    func ensureBlob(_ file: RemoteFile, meter: DownloadMeter) throws -> Bool {
        let blob = cache.blobPath(etag: file.etag)
        if FileSystem.exists(blob) {
            meter.skip(expected: file.size)
            return false
        }
        try FileSystem.createDirectory(cache.blobsDirectory)
        let lock = FileLock(path: cache.lockPath(etag: file.etag))
        try lock.lock(pollInterval: configuration.lockPollInterval, cancellation: api.cancellation) {
            api.log(.info, "Waiting for another process that is downloading \(file.name) (lock \(lock.path.path))")
        }
        defer { lock.unlock() }
        if FileSystem.exists(blob) {
            api.log(.info, "\(file.name) was downloaded by another process")
            meter.skip(expected: file.size)
            return false
        }
        // One fresh attempt after a checksum failure: a corrupt resume or a bad proxy
        // response should not need a restart of the service.
        var checksumRetries = 1
        while true {
            do {
                try download(file, to: blob, meter: meter)
                return true
            } catch HubError.checksumMismatch(let name, let expected, let actual) where checksumRetries > 0 {
                checksumRetries -= 1
                api.log(.warning, "\(name): SHA-256 \(actual) does not match \(expected); downloading again")
            }
        }
    }

    private func download(_ file: RemoteFile, to blob: URL, meter: DownloadMeter) throws {
        let incomplete = cache.incompletePath(etag: file.etag)
        let transfer = try BlobTransfer(path: incomplete, file: file)
        defer { transfer.close() }
        try checkDiskSpace(file, alreadyHave: transfer.offset)
        meter.begin(file: file.name, expected: file.size, offset: transfer.offset)

        let policy = configuration.retry
        var attempt = 1
        var url = file.downloadURL
        while !transfer.isComplete {
            let before = transfer.offset
            do {
                try transferOnce(transfer, url: &url, meter: meter)
                break
            } catch let failure as TransportFailure {
                if failure == .cancelled { throw HubError.cancelled }
                attempt = transfer.offset > before ? 1 : attempt + 1
                guard failure.isTransient, attempt <= policy.maxAttempts else {
                    throw HubError.networkUnavailable(endpoint: configuration.endpoint, detail: failure.detail)
                }
                let delay = policy.delay(afterAttempt: attempt)
                api.log(
                    .warning,
                    "\(file.name): \(failure.detail) at \(ByteCount.format(transfer.offset)); resuming in "
                        + "\(ByteCount.formatDuration(delay))")
                try api.cancellation.sleep(delay)
            } catch let transient as TransientStatus {
                attempt += 1
                guard attempt <= policy.maxAttempts else {
                    throw HubError.httpStatus(status: transient.status, url: transient.url, detail: "")
                }
                let delay = policy.delay(afterAttempt: attempt - 1, retryAfter: transient.retryAfter)
                api.log(.warning, "\(file.name): HTTP \(transient.status); retrying in \(ByteCount.formatDuration(delay))")
                try api.cancellation.sleep(delay)
            }
        }
        try transfer.sync()
        try verify(transfer, file: file, incomplete: incomplete)
        guard rename(incomplete.path, blob.path) == 0 else {
            throw FileSystem.error(blob, "move the finished download into place", errno)
        }
        meter.finish()
    }

    /// One GET (plus the redirects it leads to), appending to the transfer.
    /// Returns when a response body ended normally.
    private func transferOnce(_ transfer: BlobTransfer, url: inout String, meter: DownloadMeter) throws {
        for _ in 0..<10 {
            var extra: [(name: String, value: String)] = [("Accept-Encoding", "identity")]
            if transfer.offset > 0 { extra.append(("Range", "bytes=\(transfer.offset)-")) }
            let request = HTTPRequest(method: .get, url: url, headers: api.headers(for: url, extra: extra))
            transfer.startResponse()
            let head = try api.transport.send(
                request,
                body: { head, bytes in try transfer.receive(head: head, bytes: bytes, meter: meter) },
                isCancelled: api.isCancelled)
            if head.isRedirect, let location = head["location"] {
                guard let target = URLEncoding.resolve(location, against: url) else {
                    throw HubError.invalidResponse(url: url, reason: "bad Location '\(location)'")
                }
                url = target
                continue
            }
            if head.status == 416 {
                // The range starts at or past the end: either we have it all, or the
                // partial file is not what the server has. Start over in the latter case.
                if transfer.isComplete { return }
                try transfer.restart(meter: meter)
                throw TransientStatus(status: 416, url: url, retryAfter: nil)
            }
            try api.checkStatus(
                head, url: url, repo: cache.repo, revision: transfer.file.commit, file: transfer.file.name,
                body: transfer.errorBody)
            if !(200...299).contains(head.status) {
                throw HubError.httpStatus(status: head.status, url: url, detail: "unexpected status")
            }
            return
        }
        throw HubError.invalidResponse(url: url, reason: "too many redirects")
    }

    private func verify(_ transfer: BlobTransfer, file: RemoteFile, incomplete: URL) throws {
        if let expected = file.size, transfer.offset != expected {
            unlink(incomplete.path)
            throw HubError.sizeMismatch(file: file.name, expected: expected, actual: transfer.offset)
        }
        if let digest = transfer.finalizeDigest(), digest != file.etag {
            unlink(incomplete.path)
            throw HubError.checksumMismatch(file: file.name, expected: file.etag, actual: digest)
        }
    }

    /// Fails early, with sizes, when the volume cannot hold the rest of the file.
    private func checkDiskSpace(_ file: RemoteFile, alreadyHave: Int64) throws {
        guard let size = file.size else { return }
        let needed = size - alreadyHave
        guard needed > 0, let available = FileSystem.availableBytes(at: cache.blobsDirectory) else { return }
        if available < needed {
            throw HubError.diskFull(directory: cache.blobsDirectory.path, neededBytes: needed, availableBytes: available)
        }
    }
}

/// The open `.incomplete` file of one blob download and what has been written.
private final class BlobTransfer {
    let path: URL
    let file: RemoteFile
    private var descriptor: Int32
    private(set) var offset: Int64
    private var hasher: SHA256Hasher?
    private var responseStarted = false
    private(set) var errorBody = Data()

    init(path: URL, file: RemoteFile) throws {
        self.path = path
        self.file = file
        let opened = open(path.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw FileSystem.error(path, "create", errno) }
        descriptor = opened
        var existing = FileSystem.fileSize(path) ?? 0
        if let size = file.size, existing > size { existing = 0 }
        offset = existing
        guard ftruncate(opened, off_t(existing)) == 0, lseek(opened, off_t(existing), SEEK_SET) >= 0 else {
            let code = errno
            FileSystem.closeDescriptor(opened)
            throw FileSystem.error(path, "prepare", code)
        }
        if file.isLFS {
            let hasher = try SHA256Hasher()
            if existing > 0 { try hasher.update(contentsOf: path, length: existing) }
            self.hasher = hasher
        }
    }

    var isComplete: Bool {
        guard let size = file.size else { return false }
        return offset == size
    }

    func startResponse() {
        responseStarted = false
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
        }
        try FileSystem.writeAll(descriptor, bytes, path: path)
        hasher?.update(bytes)
        offset += Int64(bytes.count)
        meter.advance(by: bytes.count)
    }

    func restart(meter: DownloadMeter) throws {
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) >= 0 else {
            throw FileSystem.error(path, "truncate", errno)
        }
        offset = 0
        if hasher != nil { hasher = try SHA256Hasher() }
        meter.restarted()
    }

    func sync() throws {
        guard fsync(descriptor) == 0 else { throw FileSystem.error(path, "flush", errno) }
    }

    func finalizeDigest() -> String? {
        defer { hasher = nil }
        return hasher?.finalize()
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
}
