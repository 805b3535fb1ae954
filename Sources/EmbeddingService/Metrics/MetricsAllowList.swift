import Glibc
import POSIX

/// `COLPALI_METRICS_ALLOW`: who may scrape `/metrics`. Comma-separated IPv4/IPv6 addresses
/// or CIDR blocks; default loopback (`127.0.0.1,::1`); `off` turns `/metrics` off. nginx gets
/// it as `allow`/`deny` lines (`colmodernvbert config nginx`, scripts/nginx.sh), and the
/// master's responder checks `REMOTE_ADDR` against it again (defence in depth: a snippet
/// included without the rendered lines still refuses).
public struct MetricsAllowList: Sendable, Equatable, CustomStringConvertible {
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        /// 4 or 16 bytes, network order, host bits cleared.
        let address: [UInt8]
        let prefixLength: Int
        /// As written (normalised: `/32` and `/128` dropped).
        public let description: String
    }

    public static let variable = "COLPALI_METRICS_ALLOW"
    public static let defaultValue = "127.0.0.1,::1"

    public let entries: [Entry]

    /// nil for `off`; throws naming the variable and the entry at fault.
    public static func parse(_ text: String?) throws(ConfigurationError) -> MetricsAllowList? {
        let value = (text?.isEmpty ?? true) ? defaultValue : text!
        if value.lowercased() == "off" { return nil }
        var entries: [Entry] = []
        for raw in value.split(separator: ",") {
            let item = raw.trimmingCharacters(in: " \t")
            guard !item.isEmpty else { continue }
            guard let entry = Entry(parsing: item) else {
                throw ConfigurationError(
                    variable: variable, value: value, expected: "comma-separated IP addresses or CIDR blocks, or off (\(item) is neither)")
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else {
            throw ConfigurationError(variable: variable, value: value, expected: "at least one address or CIDR block, or off")
        }
        return MetricsAllowList(entries: entries)
    }

    /// Whether `remote` (nginx's `$remote_addr`) is allowed; an unparsable address is not.
    public func allows(_ remote: String) -> Bool {
        guard var bytes = Entry.bytes(of: remote) else { return false }
        // An IPv4 client on a dual-stack socket: ::ffff:a.b.c.d.
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12..<16])
        }
        return entries.contains { $0.matches(bytes) }
    }

    /// nginx's access lines, one line: `allow A; allow B; deny all;`.
    public var nginxDirectives: String { (entries.map { "allow \($0);" } + ["deny all;"]).joined(separator: " ") }

    public var description: String { entries.map(\.description).joined(separator: ",") }
}

extension MetricsAllowList.Entry {
    init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.bytes(of: String(parts[0])) else { return nil }
        let bits = bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...bits).contains(given) else { return nil }
            length = given
        }
        address = Self.masked(bytes, length)
        prefixLength = length
        let host = String(parts[0])
        description = length == bits ? host : "\(host)/\(length)"
    }

    func matches(_ bytes: [UInt8]) -> Bool {
        bytes.count == address.count && Self.masked(bytes, prefixLength) == address
    }

    static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = max(0, min(8, length - index * 8))
            return keep == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
    }

    /// inet_pton's bytes of an IPv4 or IPv6 address.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
