import Foundation
import Glibc

/// Puts one file's bytes at `blobs/<etag>`, exactly once across processes.
///
/// Under the `.locks/<repo>/<etag>.lock` file lock it downloads into
/// `blobs/<etag>.incomplete`, resuming with `Range` from whatever an earlier,
/// interrupted attempt left there (in this process or a previous one), follows
/// redirects (http/https only, dropping the token off the hub's origin), retries
/// transient failures with backoff, stops a transfer the moment it passes the
/// announced size (or `maxUndeclaredFileSize` when none was announced), checks the
/// size and the ETag (the SHA-256 of an LFS file, the git blob id of any other),
/// then renames the file into place atomically. A blob that fails the checks is
/// deleted, never stored.
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
        if FileSystem.isRegularFile(blob) {
            meter.skip(expected: file.size)
            return false
        }
        try FileSystem.createDirectory(cache.blobsDirectory)
        let lock = FileLock(path: cache.lockPath(etag: file.etag))
        try lock.lock(pollInterval: configuration.lockPollInterval, cancellation: api.cancellation) {
            api.logger.info("Waiting for another process that is downloading \(file.name) (lock \(lock.path.path))")
        }
        defer { lock.unlock() }
        if FileSystem.isRegularFile(blob) {
            api.logger.info("\(file.name) was downloaded by another process")
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
                let algorithm = HubNames.isSHA256(expected) ? "SHA-256" : "git blob id"
                api.logger.warning("\(name): \(algorithm) \(actual) does not match \(expected); downloading again")
            }
        }
    }

    private func download(_ file: RemoteFile, to blob: URL, meter: DownloadMeter) throws {
        let incomplete = cache.incompletePath(etag: file.etag)
        let transfer = try BlobTransfer(path: incomplete, file: file, undeclaredLimit: configuration.maxUndeclaredFileSize)
        defer { transfer.close() }
        do {
            try fill(transfer, file: file, meter: meter)
        } catch let error as HubError {
            if case .oversized = error { unlink(incomplete.path) }
            throw error
        }
        try transfer.sync()
        try verify(transfer, file: file, incomplete: incomplete)
        guard rename(incomplete.path, blob.path) == 0 else {
            throw FileSystem.error(blob, "move the finished download into place", errno)
        }
        meter.finish()
    }

    /// Transfers until a response body ends normally, resuming after drops.
    private func fill(_ transfer: BlobTransfer, file: RemoteFile, meter: DownloadMeter) throws {
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
                api.logger.warning(
                    "\(file.name): \(failure.detail) at \(ByteCount.format(transfer.offset)); resuming in \(ByteCount.formatDuration(delay))"
                )
                try api.cancellation.sleep(delay)
            } catch let transient as TransientStatus {
                attempt += 1
                guard attempt <= policy.maxAttempts else {
                    throw HubError.httpStatus(status: transient.status, url: transient.url, detail: "")
                }
                let delay = policy.delay(afterAttempt: attempt - 1, retryAfter: transient.retryAfter)
                api.logger.warning("\(file.name): HTTP \(transient.status); retrying in \(ByteCount.formatDuration(delay))")
                try api.cancellation.sleep(delay)
            }
        }
    }

    /// One GET (plus the redirects it leads to), appending to the transfer.
    /// Returns when a response body ended normally.
    private func transferOnce(_ transfer: BlobTransfer, url: inout String, meter: DownloadMeter) throws {
        for _ in 0..<10 {
            var extra: [(name: String, value: String)] = [("Accept-Encoding", "identity")]
            if transfer.offset > 0 { extra.append(("Range", "bytes=\(transfer.offset)-")) }
            let request = try api.request(.get, url: url, extra: extra)
            transfer.startResponse()
            let head = try api.transport.send(
                request,
                body: { head, bytes in try transfer.receive(head: head, bytes: bytes, meter: meter) },
                isCancelled: api.isCancelled)
            if head.isRedirect, let location = head["location"] {
                url = try api.follow(location, from: url)
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
        let digest = try transfer.finalizeDigest()
        if digest != file.etag {
            unlink(incomplete.path)
            throw HubError.checksumMismatch(file: file.name, expected: file.etag, actual: digest)
        }
    }

    /// Fails early, with sizes, when the volume cannot hold the rest of the file.
    private func checkDiskSpace(_ file: RemoteFile, alreadyHave: Int64) throws {
        guard let size = file.size else { return }
        let needed = size - min(alreadyHave, size)
        guard needed > 0, let available = FileSystem.availableBytes(at: cache.blobsDirectory) else { return }
        if available < needed {
            throw HubError.diskFull(directory: cache.blobsDirectory.path, neededBytes: needed, availableBytes: available)
        }
    }
}
