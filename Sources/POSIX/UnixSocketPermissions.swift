import Glibc

/// Who may connect to a unix socket: its permission bits and its group.
///
/// Connecting needs write permission on the socket file, so a world-writable socket lets any
/// local user talk to the pool directly, past nginx, TLS, API keys and limits: `o+w` is
/// never accepted. The default is 0660 in the creating process's group (issue 12).
public struct UnixSocketPermissions: Sendable, Equatable, CustomStringConvertible {
    /// Permission bits only (no file type, setuid, setgid or sticky bits), never `o+w`.
    public let mode: mode_t
    /// The socket file's group; nil keeps the creating process's (or the directory's setgid) group.
    public let group: gid_t?

    /// 0660, the creator's group.
    public static let `default` = UnixSocketPermissions(checkedMode: 0o660, group: nil)

    public init(mode: mode_t = 0o660, group: gid_t? = nil) throws(SocketModeError) {
        guard mode & ~mode_t(0o777) == 0 else { throw .notPermissionBits(mode) }
        guard mode & S_IWOTH == 0 else { throw .worldWritable(mode) }
        self.init(checkedMode: mode, group: group)
    }

    private init(checkedMode: mode_t, group: gid_t?) {
        self.mode = checkedMode
        self.group = group
    }

    /// `0660`, `660`, `0o600`: octal permission bits, without `o+w`.
    public static func mode(parsing text: String) throws(SocketModeError) -> mode_t {
        var digits = Substring(text.trimmingWhitespace())
        if digits.hasPrefix("0o") || digits.hasPrefix("0O") { digits = digits.dropFirst(2) }
        guard (1...4).contains(digits.count), digits.allSatisfy({ ("0"..."7").contains($0) }), let value = mode_t(digits, radix: 8)
        else { throw .notOctal(text) }
        return try UnixSocketPermissions(mode: value).mode
    }

    public var description: String {
        "mode 0\(String(mode, radix: 8))" + (group.map { ", group \(UnixGroup.name(of: $0) ?? String($0))" } ?? "")
    }
}

public enum SocketModeError: Error, Sendable, Equatable, CustomStringConvertible {
    case notOctal(String)
    case notPermissionBits(mode_t)
    case worldWritable(mode_t)

    public var description: String {
        switch self {
        case .notOctal(let text): "\"\(text)\" is not an octal mode like 0660"
        case .notPermissionBits(let mode): "0\(String(mode, radix: 8)) has bits beyond the permission bits (0777)"
        case .worldWritable(let mode):
            "0\(String(mode, radix: 8)) lets every local user connect (o+w), bypassing nginx; use 0660 with a group, or 0600"
        }
    }
}

/// The group database (`getgrnam_r`/`getgrgid_r`) and this process's group membership.
public enum UnixGroup {
    /// A group name or a numeric gid; nil when a name is unknown. A number is taken as given
    /// (a gid need not have a name).
    public static func id(_ nameOrID: String) -> gid_t? {
        let text = nameOrID.trimmingWhitespace()
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) { return gid_t(text) }
        return lookup { entry, buffer, result in getgrnam_r(text, &entry, &buffer, buffer.count, &result) }.map(\.gid)
    }

    /// The name of `gid`, nil when it has none.
    public static func name(of gid: gid_t) -> String? {
        lookup { entry, buffer, result in getgrgid_r(gid, &entry, &buffer, buffer.count, &result) }?.name
    }

    /// Whether this process may give a file it owns to `gid` (`chown` without privilege):
    /// its effective group or one of its supplementary groups.
    public static func isMember(_ gid: gid_t) -> Bool {
        if getegid() == gid { return true }
        let count = getgroups(0, nil)
        guard count > 0 else { return false }
        var groups = [gid_t](repeating: 0, count: Int(count))
        let filled = getgroups(count, &groups)
        return filled > 0 && groups.prefix(Int(filled)).contains(gid)
    }

    private static func lookup(
        _ call: (inout group, inout [CChar], inout UnsafeMutablePointer<group>?) -> Int32
    ) -> (gid: gid_t, name: String)? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard call(&entry, &buffer, &result) == 0, let found = result else { return nil }
        return (found.pointee.gr_gid, String(cString: found.pointee.gr_name))
    }
}
