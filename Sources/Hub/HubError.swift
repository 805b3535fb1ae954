import Foundation

/// Everything that can go wrong while locating or fetching a model.
///
/// Each case carries what an operator needs to fix the problem, and `description`
/// says what to do (set HF_TOKEN, check HF_ENDPOINT, free disk space...), because
/// these messages end up in container logs read by people, not code.
public enum HubError: Error, Sendable, Equatable {
    /// The model id is neither an existing directory nor a valid `org/name` repo id.
    case invalidModelID(String, reason: String)
    /// The model id looks like a path but no such directory exists.
    case localDirectoryNotFound(String)
    /// HTTP 404 or the hub's `RepoNotFound` code (which it also sends, with 401, for private repos).
    case repositoryNotFound(repo: String, endpoint: String, hadToken: Bool)
    /// The repository exists but the revision (branch, tag, commit) does not.
    case revisionNotFound(repo: String, revision: String)
    /// A file the model needs is missing from the repository at that revision.
    case fileNotFound(repo: String, revision: String, file: String)
    /// The repository holds a PEFT adapter (`adapter_config.json`) and no merged weights.
    case adapterRepository(repo: String, revision: String)
    /// HTTP 401/403: private or gated repository, missing or insufficient token.
    case accessDenied(repo: String, status: Int, gated: Bool, hadToken: Bool, endpoint: String)
    /// Any other HTTP failure that survived the retries.
    case httpStatus(status: Int, url: String, detail: String)
    /// The hub could not be reached at all (DNS, connect, TLS, timeouts) after retries.
    case networkUnavailable(endpoint: String, detail: String)
    /// `HF_HUB_OFFLINE` is set and the cache lacks something the model needs.
    case offlineCacheMiss(repo: String, revision: String, cacheDirectory: String, missing: [String])
    /// Not enough free space for a download, or a write failed with ENOSPC/EDQUOT.
    case diskFull(directory: String, neededBytes: Int64?, availableBytes: Int64?)
    /// The downloaded bytes do not hash to the SHA-256 the hub announced.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// The downloaded size differs from the announced size.
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    /// The endpoint answered, but not like a Hugging Face hub (missing headers, bad JSON).
    case invalidResponse(url: String, reason: String)
    /// A URL the client was asked to fetch or follow (HF_ENDPOINT, a `Location`) is not
    /// http or https; nothing was requested from it.
    case disallowedURL(url: String, scheme: String)
    /// A token is configured and the hub is plain http on a non-loopback host: the token
    /// would cross the network in clear text. Nothing was sent.
    case insecureToken(endpoint: String)
    /// A download went past its announced size, or past the cap for files without one.
    case oversized(file: String, limit: Int64, declared: Bool)
    /// A file in the cache is not what the layout allows (a ref that is no commit hash,
    /// a symbolic link where a plain file belongs).
    case corruptCache(path: String, reason: String)
    /// A local file-system operation failed.
    case fileSystem(path: String, operation: String, reason: String)
    /// The caller cancelled the download.
    case cancelled
}

extension HubError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .invalidModelID(let id, let reason):
            return "Invalid model id '\(id)': \(reason). Use 'organization/name' for a hub repository "
                + "or an existing local directory."
        case .adapterRepository(let repo, let revision):
            return "'\(repo)' at '\(revision)' is a LoRA adapter repository (adapter_config.json, "
                + "adapter_model.safetensors), not a merged checkpoint. This service loads merged weights only: "
                + "set COLPALI_MODEL_ID=ModernVBERT/colmodernvbert-merged."
        case .localDirectoryNotFound(let path):
            return "Model directory '\(path)' does not exist. Point the model id at a folder with config.json "
                + "and the weights, or use a hub repository id such as 'organization/name'."
        case .repositoryNotFound(let repo, let endpoint, let hadToken):
            let tokenHint =
                hadToken
                ? "If it is private, check that HF_TOKEN belongs to an account with read access."
                : "If it is private, set HF_TOKEN to an access token with read access."
            return "Model repository '\(repo)' was not found on \(endpoint). "
                + "Check the model id (COLPALI_MODEL_ID) for typos. \(tokenHint)"
        case .revisionNotFound(let repo, let revision):
            return "Revision '\(revision)' does not exist in '\(repo)'. Check COLPALI_MODEL_REVISION "
                + "(a branch, tag or full commit hash)."
        case .fileNotFound(let repo, let revision, let file):
            return "'\(repo)' at '\(revision)' has no '\(file)', which this service needs. "
                + "Check that the model id points at a ColModernVBert checkpoint."
        case .accessDenied(let repo, let status, let gated, let hadToken, let endpoint):
            if gated {
                let tokenPart =
                    hadToken
                    ? "check that HF_TOKEN belongs to the account that was granted access"
                    : "set HF_TOKEN to an access token of that account"
                return "Model repository '\(repo)' is gated (HTTP \(status)): accept its conditions at "
                    + "\(endpoint)/\(repo) with your account, then \(tokenPart)."
            }
            if hadToken {
                return "Access to '\(repo)' was refused (HTTP \(status)) with the configured token: "
                    + "check that HF_TOKEN is valid and has read access to this repository."
            }
            return "Access to '\(repo)' requires authentication (HTTP \(status)): the repository is private "
                + "or gated. Set HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) to an access token with read access."
        case .httpStatus(let status, let url, let detail):
            let suffix = detail.isEmpty ? "" : ": \(detail)"
            return "The hub answered HTTP \(status) for \(url)\(suffix). Retry later; "
                + "if it persists check HF_ENDPOINT and the hub's status."
        case .networkUnavailable(let endpoint, let detail):
            return "Cannot reach the hub at \(endpoint) (\(detail)). Check network access, proxy settings "
                + "(HTTPS_PROXY) and HF_ENDPOINT. To start from an existing cache without network, "
                + "set HF_HUB_OFFLINE=1."
        case .offlineCacheMiss(let repo, let revision, let cacheDirectory, let missing):
            return "Offline mode (HF_HUB_OFFLINE) is on, but '\(repo)' at '\(revision)' is not complete in the "
                + "cache \(cacheDirectory) (missing: \(missing.joined(separator: ", "))). Run the `download` "
                + "command with network access first, point HF_HOME/HF_HUB_CACHE at a filled cache, "
                + "or unset HF_HUB_OFFLINE."
        case .diskFull(let directory, let needed, let available):
            var amounts = ""
            if let needed { amounts += " need \(ByteCount.format(needed))" }
            if let available { amounts += (amounts.isEmpty ? "" : ",") + " \(ByteCount.format(available)) available" }
            return "Not enough disk space in \(directory):\(amounts.isEmpty ? " write failed" : amounts). "
                + "Free space there or point HF_HOME / HF_HUB_CACHE at a larger volume."
        case .checksumMismatch(let file, let expected, let actual):
            let algorithm = HubNames.isSHA256(expected) ? "SHA-256" : "git blob id"
            return "'\(file)' failed its integrity check: \(algorithm) \(actual), expected \(expected). "
                + "The corrupt download was discarded; retry, and check any proxy or mirror in between."
        case .sizeMismatch(let file, let expected, let actual):
            return "'\(file)' has \(actual) bytes, expected \(expected). The download was discarded; retry."
        case .invalidResponse(let url, let reason):
            return "Unexpected answer from \(url): \(reason). Check that HF_ENDPOINT points at a Hugging Face hub "
                + "(or a compatible mirror)."
        case .disallowedURL(let url, let scheme):
            return "Refused to fetch \(url): scheme '\(scheme)' is not http or https. Check HF_ENDPOINT, "
                + "and any mirror or proxy that redirects there."
        case .insecureToken(let endpoint):
            return "A hub token is configured (HF_TOKEN or the token file) but \(endpoint) is plain http: the "
                + "token would cross the network unencrypted, so nothing was sent. Use an https HF_ENDPOINT, "
                + "unset the token for a public mirror, or set HF_HUB_ALLOW_INSECURE_TOKEN=1 on a trusted network."
        case .oversized(let file, let limit, let declared):
            if declared {
                return "'\(file)' sent more than its announced \(limit) bytes. The download was aborted and "
                    + "discarded; check any proxy or mirror in between."
            }
            return "'\(file)' has no announced size and passed the limit of \(limit) bytes for such files "
                + "(HF_HUB_MAX_UNDECLARED_SIZE). The download was aborted and discarded; raise the limit if "
                + "the mirror is trusted."
        case .corruptCache(let path, let reason):
            return "The hub cache has an unusable entry '\(path)': \(reason). Delete it (it is written again "
                + "on the next download) and check who else writes to HF_HOME / HF_HUB_CACHE."
        case .fileSystem(let path, let operation, let reason):
            return "Cannot \(operation) '\(path)': \(reason). Check permissions of HF_HOME / HF_HUB_CACHE."
        case .cancelled:
            return "The model download was cancelled."
        }
    }

    public var errorDescription: String? { description }
}
