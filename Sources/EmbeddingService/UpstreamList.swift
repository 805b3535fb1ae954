import POSIX

/// `COLPALI_UPSTREAMS`: the pools nginx spreads requests over when they run on other hosts
/// (`scripts/nginx.sh` asks `colmodernvbert config nginx` for them, so each entry is read
/// with `COLPALI_LISTEN`'s grammar, `ListenAddress`, and nowhere else).
///
/// Entries are separated by commas and/or blanks: `10.0.0.2:9000, 10.0.0.3:9000` or
/// `unix:/run/pool.sock 10.0.0.3:9000`. Each must be an address nginx can connect to: a unix
/// socket path (relative paths are made absolute against `workingDirectory`) or host:port
/// with a port other than 0; an inherited descriptor (`fd:N`) is the pool's own side only.
public struct UpstreamList: Sendable, Equatable {
    public static let variable = "COLPALI_UPSTREAMS"

    public let addresses: [ListenAddress]

    /// nil when the variable is unset or blank (nginx then fronts the local pool, COLPALI_LISTEN).
    public static func fromEnvironment(_ environment: [String: String], workingDirectory: String) throws(UpstreamListError)
        -> UpstreamList?
    {
        guard let text = EnvironmentReader(environment).string(variable) else { return nil }
        return try UpstreamList(parsing: text, workingDirectory: workingDirectory)
    }

    public init(parsing text: String, workingDirectory: String) throws(UpstreamListError) {
        let entries = text.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        guard !entries.isEmpty else { throw UpstreamListError(value: text, entry: nil, reason: "it names no address") }
        var addresses: [ListenAddress] = []
        for entry in entries {
            let address: ListenAddress
            do {
                address = try ListenAddress(parsing: entry).resolvingRelativePath(against: workingDirectory)
            } catch {
                throw UpstreamListError(value: text, entry: entry, reason: "\(error)")
            }
            switch address {
            case .inherited:
                throw UpstreamListError(
                    value: text, entry: entry, reason: "an inherited descriptor is no address nginx can connect to")
            case .tcp(_, let port) where port == 0:
                throw UpstreamListError(
                    value: text, entry: entry, reason: "port 0 means any free port to a listener; name the pool's port")
            case .tcp, .unix:
                break
            }
            guard !addresses.contains(address) else {
                throw UpstreamListError(
                    value: text, entry: entry, reason: "it is listed twice (nginx would count the pool as two servers)")
            }
            addresses.append(address)
        }
        self.addresses = addresses
    }

    /// nginx's `server` spelling of each entry: `unix:/abs/path` or `host:port` (`[v6]:port`).
    public var nginxForms: [String] { addresses.map(\.description) }
}

public struct UpstreamListError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The whole value of COLPALI_UPSTREAMS.
    public let value: String
    /// The entry at fault, nil when the list as a whole is.
    public let entry: String?
    public let reason: String

    public var description: String {
        let expected = "expected pool addresses (unix:/path or host:port) separated by commas or spaces"
        guard let entry else { return "\(UpstreamList.variable)=\"\(value)\" is not valid: \(reason); \(expected)" }
        return "\(UpstreamList.variable)=\"\(value)\": entry \"\(entry)\" is not valid: \(reason); \(expected)"
    }
}
