import Foundation

/// A repository revision as the hub describes it: the commit and the file list.
struct ModelInfo: Sendable, Equatable {
    let commit: String
    let files: Set<String>
}

/// What a `HEAD /{repo}/resolve/{revision}/{file}` tells about a file.
struct RemoteFile: Sendable, Equatable {
    let name: String
    /// The blob name: SHA-256 for LFS files, git blob SHA-1 otherwise.
    let etag: String
    let commit: String
    /// From X-Linked-Size (LFS) or Content-Length.
    let size: Int64?
    /// Where to GET the bytes (a CDN URL for LFS files).
    let downloadURL: String

    /// LFS blobs are named by their SHA-256, which makes them verifiable.
    var isLFS: Bool { HubNames.isSHA256(etag) }
}

/// An HTTP status worth retrying (408/429/5xx), carried through the retry loop.
struct TransientStatus: Error {
    let status: Int
    let url: String
    let retryAfter: TimeInterval?
}

/// The hub's HTTP API, as far as fetching a model needs it:
///
/// - `GET {endpoint}/api/models/{repo}/revision/{revision}`: JSON with `sha` (the
///   commit) and `siblings[].rfilename` (the files);
/// - `HEAD {endpoint}/{repo}/resolve/{revision}/{file}`: `X-Repo-Commit`, `ETag` (or,
///   on an LFS redirect, `X-Linked-Etag` and `X-Linked-Size`), `Location`.
///
/// Errors carry the hub's `X-Error-Code` (RepoNotFound, RevisionNotFound,
/// EntryNotFound, GatedRepo) into `HubError` cases.
final class HubAPI {
    let configuration: HubConfiguration
    let transport: HTTPTransport
    let cancellation: CancellationFlag
    let log: HubLogger

    init(configuration: HubConfiguration, transport: HTTPTransport, cancellation: CancellationFlag, log: @escaping HubLogger) {
        self.configuration = configuration
        self.transport = transport
        self.cancellation = cancellation
        self.log = log
    }

    // MARK: URLs

    func modelInfoURL(repo: RepoID, revision: String) -> String {
        "\(configuration.endpoint)/api/models/\(repo)/revision/\(URLEncoding.quote(revision, safe: ""))"
    }

    func resolveURL(repo: RepoID, revision: String, file: String) -> String {
        "\(configuration.endpoint)/\(repo)/resolve/\(URLEncoding.quote(revision, safe: ""))/"
            + URLEncoding.quote(file, safe: "/")
    }

    /// Headers for `url`: the token only goes to the hub's own origin, never to a CDN
    /// that a redirect points at (signed URLs need none, and must not see it).
    func headers(for url: String, extra: [(name: String, value: String)] = []) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("User-Agent", configuration.userAgent)]
        if let token = configuration.token, URLEncoding.sameOrigin(url, configuration.endpoint) {
            headers.append(("Authorization", "Bearer \(token)"))
        }
        return headers + extra
    }

    var isCancelled: () -> Bool {
        let flag = cancellation
        return { flag.isCancelled }
    }

    // MARK: Calls

    /// The commit and file list of `revision`. With `retrying` false, one try only
    /// (used when a cached copy could serve instead, to fall back fast).
    func modelInfo(repo: RepoID, revision: String, retrying: Bool) throws -> ModelInfo {
        let url = modelInfoURL(repo: repo, revision: revision)
        let (head, data) = try withRetries(url: url, enabled: retrying) { () throws -> (HTTPResponseHead, Data) in
            let request = HTTPRequest(method: .get, url: url, headers: headers(for: url), timeout: configuration.metadataTimeout)
            let (head, data) = try transport.fetch(request, isCancelled: isCancelled)
            try checkStatus(head, url: url, repo: repo, revision: revision, file: nil, body: data)
            return (head, data)
        }
        guard (200...299).contains(head.status) else {
            throw HubError.httpStatus(status: head.status, url: url, detail: "unexpected redirect from the model API")
        }
        struct Payload: Decodable {
            struct Sibling: Decodable { let rfilename: String }
            let sha: String?
            let siblings: [Sibling]?
        }
        let payload: Payload
        do {
            payload = try JSONDecoder().decode(Payload.self, from: data)
        } catch {
            throw HubError.invalidResponse(url: url, reason: "the model API did not return JSON with 'sha' and 'siblings'")
        }
        guard let commit = payload.sha, HubNames.isCommitHash(commit) else {
            throw HubError.invalidResponse(url: url, reason: "missing or malformed commit hash 'sha'")
        }
        let files = (payload.siblings ?? []).map(\.rfilename).filter(HubNames.isSafeRelativePath)
        return ModelInfo(commit: commit, files: Set(files))
    }

    /// Metadata of one file at a commit, following redirects that stay on the hub
    /// and stopping at the first one that leaves it (the LFS/CDN redirect, which
    /// carries X-Linked-Etag / X-Linked-Size).
    func fileMetadata(repo: RepoID, commit: String, file: String) throws -> RemoteFile {
        let start = resolveURL(repo: repo, revision: commit, file: file)
        return try withRetries(url: start, enabled: true) { () throws -> RemoteFile in
            var url = start
            for _ in 0..<10 {
                let request = HTTPRequest(
                    method: .head, url: url, headers: headers(for: url, extra: [("Accept-Encoding", "identity")]),
                    timeout: configuration.metadataTimeout)
                let head = try transport.send(request, body: nil, isCancelled: isCancelled)
                try checkStatus(head, url: url, repo: repo, revision: commit, file: file, body: Data())
                if head.isRedirect, let location = head["location"],
                    let target = URLEncoding.resolve(location, against: url),
                    URLEncoding.sameOrigin(target, url), head["x-linked-etag"] == nil
                {
                    url = target
                    continue
                }
                return try remoteFile(from: head, url: url, file: file)
            }
            throw HubError.invalidResponse(url: start, reason: "too many redirects")
        }
    }

    private func remoteFile(from head: HTTPResponseHead, url: String, file: String) throws -> RemoteFile {
        guard let commit = head["x-repo-commit"], HubNames.isCommitHash(commit) else {
            throw HubError.invalidResponse(url: url, reason: "missing X-Repo-Commit header")
        }
        guard let rawETag = head["x-linked-etag"] ?? head["etag"] else {
            throw HubError.invalidResponse(url: url, reason: "missing ETag header")
        }
        let etag = URLEncoding.normalizeETag(rawETag)
        guard HubNames.isSafeBlobName(etag) else {
            throw HubError.invalidResponse(url: url, reason: "unusable ETag '\(rawETag)'")
        }
        let sizeText = head["x-linked-size"] ?? (head.isRedirect ? nil : head["content-length"])
        var downloadURL = url
        if head.isRedirect, let location = head["location"] {
            guard let target = URLEncoding.resolve(location, against: url) else {
                throw HubError.invalidResponse(url: url, reason: "bad Location '\(location)'")
            }
            downloadURL = target
        }
        return RemoteFile(
            name: file, etag: etag, commit: commit, size: sizeText.flatMap { Int64($0) }, downloadURL: downloadURL)
    }

    /// Throws the `HubError` that a non-success status means; returns for 2xx/3xx.
    func checkStatus(
        _ head: HTTPResponseHead, url: String, repo: RepoID, revision: String, file: String?, body: Data
    ) throws {
        let status = head.status
        if (200...399).contains(status) { return }
        if RetryPolicy.isTransient(status: status) {
            throw TransientStatus(status: status, url: url, retryAfter: head["retry-after"].flatMap { TimeInterval($0) })
        }
        let hadToken = configuration.token != nil
        let code = head["x-error-code"]
        switch code {
        case "RepoNotFound":
            throw HubError.repositoryNotFound(repo: repo.description, endpoint: configuration.endpoint, hadToken: hadToken)
        case "RevisionNotFound":
            throw HubError.revisionNotFound(repo: repo.description, revision: revision)
        case "EntryNotFound":
            throw HubError.fileNotFound(repo: repo.description, revision: revision, file: file ?? "?")
        case "GatedRepo":
            throw HubError.accessDenied(
                repo: repo.description, status: status, gated: true, hadToken: hadToken, endpoint: configuration.endpoint)
        default:
            break
        }
        switch status {
        case 401, 403:
            throw HubError.accessDenied(
                repo: repo.description, status: status, gated: false, hadToken: hadToken, endpoint: configuration.endpoint)
        case 404 where file == nil:
            throw HubError.repositoryNotFound(repo: repo.description, endpoint: configuration.endpoint, hadToken: hadToken)
        case 404:
            throw HubError.fileNotFound(repo: repo.description, revision: revision, file: file ?? "?")
        default:
            let message = head["x-error-message"] ?? String(decoding: body.prefix(300), as: UTF8.self)
            throw HubError.httpStatus(status: status, url: url, detail: message)
        }
    }

    /// Runs `body`, retrying transient network failures and statuses with backoff.
    /// After the last try, network failures become `networkUnavailable`.
    func withRetries<T>(url: String, enabled: Bool, _ body: () throws -> T) throws -> T {
        let policy = configuration.retry
        let attempts = enabled ? policy.maxAttempts : 1
        var attempt = 1
        while true {
            if cancellation.isCancelled { throw HubError.cancelled }
            do {
                return try body()
            } catch let failure as TransportFailure {
                if failure == .cancelled { throw HubError.cancelled }
                guard failure.isTransient, attempt < attempts else {
                    throw HubError.networkUnavailable(endpoint: configuration.endpoint, detail: failure.detail)
                }
                let delay = policy.delay(afterAttempt: attempt)
                log(
                    .warning,
                    "\(url): \(failure.detail); retrying in \(ByteCount.formatDuration(delay)) "
                        + "(attempt \(attempt + 1) of \(attempts))")
                try cancellation.sleep(delay)
            } catch let transient as TransientStatus {
                guard attempt < attempts else {
                    throw HubError.httpStatus(status: transient.status, url: transient.url, detail: "")
                }
                let delay = policy.delay(afterAttempt: attempt, retryAfter: transient.retryAfter)
                log(
                    .warning,
                    "\(url): HTTP \(transient.status); retrying in \(ByteCount.formatDuration(delay)) "
                        + "(attempt \(attempt + 1) of \(attempts))")
                try cancellation.sleep(delay)
            }
            attempt += 1
        }
    }
}
