import Foundation
import POSIX

/// Where the hub is, where the cache lives, and how patient to be.
///
/// Built from the environment with the same variables and precedence as the Python
/// `huggingface_hub` package (2.x), so that a cache filled by Python tools is found
/// and ours is found by them.
public struct HubConfiguration: Sendable, Equatable {
    /// The public hub; `HF_ENDPOINT` overrides it (mirrors, test servers).
    public static let defaultEndpoint = "https://huggingface.co"

    /// Base URL of the hub, without a trailing slash.
    public var endpoint: String
    /// The hub cache folder (holds `models--ORG--NAME/`), i.e. `HF_HUB_CACHE`.
    public var cacheDirectory: URL
    /// Bearer token for private and gated repositories.
    public var token: String?
    /// Use the cache only; never touch the network.
    public var offline: Bool
    /// Retry schedule for transient failures.
    public var retry: RetryPolicy
    /// Limit for establishing a connection.
    public var connectTimeout: TimeInterval
    /// Limit for a whole metadata request (API call, HEAD).
    public var metadataTimeout: TimeInterval
    /// A download that receives nothing for this long is treated as a broken connection.
    public var stallTimeout: TimeInterval
    /// Files at least this large get periodic progress log lines.
    public var largeFileThreshold: Int64
    /// Seconds between progress log lines for one large file.
    public var progressLogInterval: TimeInterval
    /// How often a process waiting for another's download lock checks again.
    public var lockPollInterval: TimeInterval
    /// Sent as User-Agent.
    public var userAgent: String
    /// Send the token to a plain-http hub on a non-loopback host (`HF_HUB_ALLOW_INSECURE_TOKEN`).
    /// Off by default: the token would cross the network in clear text. Loopback hosts
    /// (127.0.0.0/8, ::1, localhost) are exempt, as the W3C "potentially trustworthy
    /// origin" rule and curl's cookie rules treat them: the bytes never leave the machine.
    public var allowInsecureToken: Bool
    /// Limit for a file whose size neither the hub's metadata nor the response announces
    /// (`HF_HUB_MAX_UNDECLARED_SIZE`, bytes). The hub itself always announces sizes (git
    /// files are at most 10 MB, LFS files carry X-Linked-Size), so only a mirror or proxy
    /// hits this; 256 MiB is well above the largest tokenizer files (~35 MB) and bounds
    /// what an endless stream can put on disk.
    public var maxUndeclaredFileSize: Int64

    public init(
        endpoint: String = HubConfiguration.defaultEndpoint,
        cacheDirectory: URL,
        token: String? = nil,
        offline: Bool = false,
        retry: RetryPolicy = RetryPolicy(),
        connectTimeout: TimeInterval = 10,
        metadataTimeout: TimeInterval = 30,
        stallTimeout: TimeInterval = 60,
        largeFileThreshold: Int64 = 10 * 1024 * 1024,
        progressLogInterval: TimeInterval = 5,
        lockPollInterval: TimeInterval = 0.2,
        userAgent: String = "colmodernvbert-swift/0.1; hub-client",
        allowInsecureToken: Bool = false,
        maxUndeclaredFileSize: Int64 = 256 * 1024 * 1024
    ) {
        self.endpoint = HubConfiguration.trimmedEndpoint(endpoint)
        self.cacheDirectory = cacheDirectory
        self.token = token
        self.offline = offline
        self.retry = retry
        self.connectTimeout = connectTimeout
        self.metadataTimeout = metadataTimeout
        self.stallTimeout = stallTimeout
        self.largeFileThreshold = largeFileThreshold
        self.progressLogInterval = progressLogInterval
        self.lockPollInterval = lockPollInterval
        self.userAgent = userAgent
        self.allowInsecureToken = allowInsecureToken
        self.maxUndeclaredFileSize = max(0, maxUndeclaredFileSize)
    }

    /// Reads the configuration the way `huggingface_hub` does:
    ///
    /// - cache: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, where
    ///   `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`;
    ///   `~` and `$VAR` are expanded in HF_HOME and in the final cache path;
    /// - endpoint: `HF_ENDPOINT` without trailing slashes;
    /// - token: `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file at `HF_TOKEN_PATH`
    ///   (default `$HF_HOME/token`, written by `hf auth login`), whitespace trimmed;
    /// - offline: `HF_HUB_OFFLINE`, else `TRANSFORMERS_OFFLINE`, true for 1/ON/YES/TRUE;
    /// - timeouts: `HF_HUB_ETAG_TIMEOUT` (metadata requests) and `HF_HUB_DOWNLOAD_TIMEOUT`
    ///   (seconds without data before a download counts as stalled), when set to integers;
    ///   unset, this client waits longer than Python's 10 s, since a stalled start-up
    ///   download is resumed anyway.
    ///
    /// Two variables are this client's own (huggingface_hub has neither):
    /// `HF_HUB_ALLOW_INSECURE_TOKEN` (1/ON/YES/TRUE) and `HF_HUB_MAX_UNDECLARED_SIZE` (bytes).
    ///
    /// One deliberate difference: a variable set to the empty string counts as unset
    /// (Python would use "" as a path).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> HubConfiguration
    {
        let env = EnvironmentReader(environment)
        let home = env.home
        let defaultHome = home + "/.cache"
        let hfHome = env.expand(env["HF_HOME"] ?? ((env["XDG_CACHE_HOME"] ?? defaultHome) + "/huggingface"))
        let legacyCache = env["HUGGINGFACE_HUB_CACHE"] ?? (hfHome + "/hub")
        let cache = env.expand(env["HF_HUB_CACHE"] ?? legacyCache)

        let tokenPath = env.expand(env["HF_TOKEN_PATH"] ?? (hfHome + "/token"))
        let token =
            cleanToken(env["HF_TOKEN"] ?? env["HUGGING_FACE_HUB_TOKEN"])
            ?? cleanToken(try? String(contentsOfFile: tokenPath, encoding: .utf8))

        let offlineValue = env["HF_HUB_OFFLINE"] ?? env["TRANSFORMERS_OFFLINE"]
        var configuration = HubConfiguration(
            endpoint: env["HF_ENDPOINT"] ?? defaultEndpoint,
            cacheDirectory: URL(fileURLWithPath: cache, isDirectory: true),
            token: token,
            offline: isTrue(offlineValue),
            allowInsecureToken: isTrue(env["HF_HUB_ALLOW_INSECURE_TOKEN"])
        )
        if let bytes = env["HF_HUB_MAX_UNDECLARED_SIZE"].flatMap(Int64.init), bytes > 0 {
            configuration.maxUndeclaredFileSize = bytes
        }
        if let seconds = env["HF_HUB_ETAG_TIMEOUT"].flatMap(Int.init), seconds > 0 {
            configuration.metadataTimeout = TimeInterval(seconds)
        }
        if let seconds = env["HF_HUB_DOWNLOAD_TIMEOUT"].flatMap(Int.init), seconds > 0 {
            configuration.stallTimeout = TimeInterval(seconds)
        }
        return configuration
    }

    /// huggingface_hub's truth test for flags: 1, ON, YES, TRUE in any case.
    static func isTrue(_ value: String?) -> Bool {
        guard let value else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(value.uppercased())
    }

    static func cleanToken(_ value: String?) -> String? {
        let joined = value?.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
        guard let trimmed = joined?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty else {
            return nil
        }
        return trimmed
    }

    static func trimmedEndpoint(_ endpoint: String) -> String {
        var result = Substring(endpoint)
        while result.hasSuffix("/") { result = result.dropLast() }
        return String(result)
    }
}
