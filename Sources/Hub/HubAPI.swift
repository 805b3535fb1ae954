import Foundation
import Logging

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

    /// LFS blobs are named by the SHA-256 of their bytes; every other file by its git
    /// blob id (a SHA-1). `remoteFile` accepts no other ETag, so each file is verifiable.
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
///
/// Every request is built by `request(_:url:extra:timeout:)`, which admits http and
/// https only and keeps the token off plain-http hosts; every `Location` goes through
/// `follow(_:from:)`, which applies the same scheme rule.
final class HubAPI {
    let configuration: HubConfiguration
    let transport: HTTPTransport
    let cancellation: CancellationFlag
    let logger: Logger

    init(configuration: HubConfiguration, transport: HTTPTransport, cancellation: CancellationFlag, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.cancellation = cancellation
        self.logger = logger
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

    /// A request for `url` with the client's headers, after the checks every URL passes:
    /// http or https only, and no token in clear text to a non-loopback host unless
    /// `allowInsecureToken` says so.
    func request(
        _ method: HTTPRequest.Method, url: String, extra: [(name: String, value: String)] = [], timeout: TimeInterval? = nil
    ) throws(HubError) -> HTTPRequest {
        let scheme = URLEncoding.scheme(url) ?? ""
        guard URLEncoding.isWebScheme(scheme) else { throw .disallowedURL(url: HubAPI.shortened(url), scheme: scheme) }
        let headers = headers(for: url, extra: extra)
        let sendsToken = headers.contains { $0.name == "Authorization" }
        if sendsToken, scheme == "http", !configuration.allowInsecureToken, !URLEncoding.isLoopbackHost(url) {
            throw .insecureToken(endpoint: configuration.endpoint)
        }
        return HTTPRequest(method: method, url: url, headers: headers, timeout: timeout)
    }

    /// The target of a `Location` sent in answer to `url`, checked like every request URL
    /// before anything is sent there: a hostile mirror's `file://` or `gopher://` redirect
    /// fails here, naming the scheme, and nothing is read from it.
    func follow(_ location: String, from url: String) throws(HubError) -> String {
        guard let target = URLEncoding.resolve(location, against: url) else {
            throw .invalidResponse(url: url, reason: "bad Location '\(HubAPI.shortened(location))'")
        }
        let scheme = URLEncoding.scheme(target) ?? ""
        guard URLEncoding.isWebScheme(scheme) else { throw .disallowedURL(url: HubAPI.shortened(target), scheme: scheme) }
        return target
    }

    /// Server-provided text in error messages stays short.
    static func shortened(_ text: String) -> String {
        text.count <= 200 ? text : String(text.prefix(200)) + "..."
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
            let request = try request(.get, url: url, timeout: configuration.metadataTimeout)
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
                let request = try request(
                    .head, url: url, extra: [("Accept-Encoding", "identity")], timeout: configuration.metadataTimeout)
                let head = try transport.send(request, body: nil, isCancelled: isCancelled)
                try checkStatus(head, url: url, repo: repo, revision: commit, file: file, body: Data())
                if head.isRedirect, let location = head["location"], head["x-linked-etag"] == nil,
                    case let target = try follow(location, from: url), URLEncoding.sameOrigin(target, url)
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
        // The blob's name and its checksum: the hub's ETag is the LFS SHA-256 or the git
        // blob id, and anything else could be neither checked nor trusted as a file name.
        guard HubNames.isSHA256(etag) || HubNames.isGitBlobID(etag) else {
            throw HubError.invalidResponse(
                url: url,
                reason: "ETag '\(HubAPI.shortened(rawETag))' of \(file) is neither an LFS SHA-256 nor a git blob id")
        }
        var size: Int64?
        if let sizeText = head["x-linked-size"] ?? (head.isRedirect ? nil : head["content-length"]) {
            guard let bytes = Int64(sizeText.trimmingCharacters(in: .whitespaces)), bytes >= 0 else {
                throw HubError.invalidResponse(
                    url: url, reason: "size '\(HubAPI.shortened(sizeText))' of \(file) is not a byte count")
            }
            size = bytes
        }
        var downloadURL = url
        if head.isRedirect, let location = head["location"] {
            downloadURL = try follow(location, from: url)
        }
        return RemoteFile(name: file, etag: etag, commit: commit, size: size, downloadURL: downloadURL)
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
                logger.warning(
                    "\(url): \(failure.detail); retrying in \(ByteCount.formatDuration(delay)) (attempt \(attempt + 1) of \(attempts))")
                try cancellation.sleep(delay)
            } catch let transient as TransientStatus {
                guard attempt < attempts else {
                    throw HubError.httpStatus(status: transient.status, url: transient.url, detail: "")
                }
                let delay = policy.delay(afterAttempt: attempt, retryAfter: transient.retryAfter)
                logger.warning(
                    "\(url): HTTP \(transient.status); retrying in \(ByteCount.formatDuration(delay)) (attempt \(attempt + 1) of \(attempts))"
                )
                try cancellation.sleep(delay)
            }
            attempt += 1
        }
    }
}
