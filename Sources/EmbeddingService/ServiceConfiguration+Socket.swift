import Glibc
import POSIX

/// Who may connect to the pool's unix socket (`COLPALI_SOCKET_MODE`, `COLPALI_SOCKET_GROUP`),
/// and whether a TCP `COLPALI_LISTEN` exposes the pool beyond this host (issue 12).
///
/// The socket's group, when `COLPALI_SOCKET_GROUP` is unset: as root, the nginx workers'
/// group, read from `COLPALI_NGINX_USER` exactly as `scripts/nginx.sh` and nginx's `user`
/// directive read it (`user [group]`, the group named like the user when omitted; default
/// `nobody nogroup`), so nginx started as root reaches a 0660 socket; otherwise the master's
/// own group, which suits an nginx running as the same user.
extension ServiceConfiguration {
    static let socketModeVariable = "COLPALI_SOCKET_MODE"
    static let socketGroupVariable = "COLPALI_SOCKET_GROUP"
    static let nginxUserVariable = "COLPALI_NGINX_USER"
    /// `scripts/nginx.sh`'s default workers (when nginx starts as root).
    static let defaultNginxUser = "nobody nogroup"

    /// `effectiveUserID`: the master's (0: it may give the socket to any group).
    static func socketPermissions(_ reader: EnvironmentReader, effectiveUserID: uid_t) throws(ConfigurationError)
        -> UnixSocketPermissions
    {
        var mode = UnixSocketPermissions.default.mode
        if let text = reader.string(socketModeVariable) {
            do {
                mode = try UnixSocketPermissions.mode(parsing: text)
            } catch {
                throw ConfigurationError(
                    variable: socketModeVariable, value: text, expected: "an octal mode without o+w, like 0660 or 0600 (\(error))")
            }
        }
        let group: gid_t?
        if let text = reader.string(socketGroupVariable) {
            guard let gid = UnixGroup.id(text) else {
                throw ConfigurationError(variable: socketGroupVariable, value: text, expected: "a group name or gid that exists")
            }
            guard effectiveUserID == 0 || UnixGroup.isMember(gid) else {
                throw ConfigurationError(
                    variable: socketGroupVariable, value: text,
                    expected: "a group this user belongs to (only root may give the socket to another group)")
            }
            group = gid
        } else if effectiveUserID == 0 {
            let workers = reader.string(nginxUserVariable) ?? defaultNginxUser
            let parts = workers.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let name = String(parts.count > 1 ? parts[1] : parts[0])
            guard let gid = UnixGroup.id(name) else {
                throw ConfigurationError(
                    variable: socketGroupVariable, value: "",
                    expected:
                        "a group name or gid: unset, the socket's group is the nginx workers' group \"\(name)\" (\(nginxUserVariable)=\"\(workers)\"), which does not exist"
                )
            }
            group = gid
        } else {
            group = nil
        }
        do {
            return try UnixSocketPermissions(mode: mode, group: group)
        } catch {
            throw ConfigurationError(variable: socketModeVariable, value: String(mode, radix: 8), expected: "\(error)")
        }
    }

    /// A warning for the master's log when `COLPALI_LISTEN` is TCP on an address other hosts can
    /// reach; nil for loopback, unix sockets and inherited descriptors. A private address is
    /// how pools on several hosts serve one nginx (COLPALI_UPSTREAMS), so the warning says what
    /// keeps that safe; a wildcard address also listens on public interfaces, so it says which
    /// to bind instead.
    public var listenExposureWarning: String? {
        guard listen.isLoopback == false else { return nil }
        let risk =
            "anyone who can reach it talks FastCGI to the pool directly (FastCGI has no authentication of its own; "
            + "API keys still apply, the workers check them), bypassing nginx (TLS, rate and size limits)"
        if case .tcp(let host, let port) = listen, host == "0.0.0.0" || host == "::" {
            return "COLPALI_LISTEN=\(listen) listens on every interface of this host, public ones included: \(risk); "
                + "bind the private address the nginx host reaches (COLPALI_LISTEN=<private address>:\(port)), "
                + "or a unix socket or 127.0.0.1 when nginx runs here"
        }
        return "COLPALI_LISTEN=\(listen) is not a loopback address: \(risk); "
            + "when nginx runs on another host, let only that host reach this port (a private network or a firewall rule), "
            + "otherwise prefer a unix socket or 127.0.0.1"
    }
}
