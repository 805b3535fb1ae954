import Foundation

/// URL helpers with Python `urllib.parse` semantics where the hub client relies on them.
enum URLEncoding {
    /// Percent-encodes like `urllib.parse.quote(text, safe=safe)`: letters, digits,
    /// `_.-~` and the `safe` characters stay; every other UTF-8 byte becomes %XX.
    static func quote(_ text: String, safe: String) -> String {
        let safeBytes = Set(safe.utf8)
        var output = ""
        for byte in text.utf8 {
            let unreserved =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "~")
            if unreserved || safeBytes.contains(byte) {
                output.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                output += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return output
    }

    /// `W/"abc"` or `"abc"` to `abc`.
    static func normalizeETag(_ etag: String) -> String {
        var value = Substring(etag.trimmingCharacters(in: .whitespaces))
        if value.hasPrefix("W/") { value = value.dropFirst(2) }
        return value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// A Location header (absolute or relative) resolved against the request URL.
    static func resolve(_ location: String, against base: String) -> String? {
        guard let baseURL = URL(string: base), let target = URL(string: location, relativeTo: baseURL) else {
            return nil
        }
        return target.absoluteString
    }

    /// (scheme, host, port) with the scheme's default port filled in.
    static func origin(_ url: String) -> (String, String, Int)? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased()
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : 0)
        return (scheme, host, port)
    }

    /// The lower-cased scheme, or nil when `url` does not parse.
    static func scheme(_ url: String) -> String? { URLComponents(string: url)?.scheme?.lowercased() }

    /// True for the schemes the client speaks. libcurl is restricted to the same two.
    static func isWebScheme(_ scheme: String) -> Bool { scheme == "http" || scheme == "https" }

    /// Hosts whose traffic never leaves the machine: `localhost` (and `*.localhost`),
    /// 127.0.0.0/8 and ::1 (the W3C Secure Contexts list of potentially trustworthy hosts).
    static func isLoopbackHost(_ url: String) -> Bool {
        guard var host = URLComponents(string: url)?.host?.lowercased() else { return false }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    static func sameOrigin(_ lhs: String, _ rhs: String) -> Bool {
        guard let a = origin(lhs), let b = origin(rhs) else { return false }
        return a == b
    }
}
