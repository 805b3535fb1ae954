import FastCGI
import Foundation

/// The API keys a worker accepts as `Authorization: Bearer <key>`. Empty: no
/// authentication (the default, as before).
///
/// Keys come from `COLPALI_API_KEYS` (comma-separated) and `COLPALI_API_KEYS_FILE` (one
/// per line; blank lines and lines starting with `#` are ignored); both may be set.
/// Comparison takes the same time whatever the presented token shares with a key, and no
/// message or description ever contains a key.
public struct APIKeys: Sendable, Equatable, CustomStringConvertible {
    private let keys: [[UInt8]]

    public init(_ keys: [String] = []) {
        self.keys = keys.map { Array($0.utf8) }
    }

    public var isEnabled: Bool { !keys.isEmpty }
    public var count: Int { keys.count }

    /// Never the keys themselves (configurations get logged).
    public var description: String { isEnabled ? "\(keys.count) API key(s)" : "no API keys" }

    /// Reads both variables; a file that cannot be read or a malformed key is an error
    /// naming the variable (and the line), never the key.
    public static func fromEnvironment(_ environment: [String: String]) throws(APIKeysError) -> APIKeys {
        var keys: [String] = []
        if let list = environment["COLPALI_API_KEYS"] {
            for (index, entry) in list.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                let key = entry.trimmingCharacters(in: .whitespaces)
                if key.isEmpty { continue }
                try check(key, source: "COLPALI_API_KEYS", position: "entry \(index + 1)")
                keys.append(key)
            }
        }
        if let path = environment["COLPALI_API_KEYS_FILE"]?.trimmingCharacters(in: .whitespaces), !path.isEmpty {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw APIKeysError(source: "COLPALI_API_KEYS_FILE", position: path, problem: "cannot be read as UTF-8 text")
            }
            keys += try parseFile(text, source: "COLPALI_API_KEYS_FILE (\(path))")
        }
        return APIKeys(keys)
    }

    /// One key per line; blank lines and `#` comments ignored.
    static func parseFile(_ text: String, source: String) throws(APIKeysError) -> [String] {
        var keys: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let key = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if key.isEmpty || key.hasPrefix("#") { continue }
            try check(key, source: source, position: "line \(index + 1)")
            keys.append(key)
        }
        return keys
    }

    /// Printable ASCII without spaces or commas (RFC 6750 `b64token` characters and a few more).
    private static func check(_ key: String, source: String, position: String) throws(APIKeysError) {
        guard key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") }) else {
            throw APIKeysError(source: source, position: position, problem: "holds a space, comma or non-printable character")
        }
        guard key.utf8.count >= 16 else {
            throw APIKeysError(source: source, position: position, problem: "is shorter than 16 characters")
        }
    }

    /// Whether an `Authorization` header value carries one of the keys.
    public func accepts(authorization: String?) -> Bool {
        guard let token = Self.bearerToken(authorization) else { return false }
        let presented = Array(token.utf8)
        var matched: UInt8 = 0
        // Every key is compared in full: no early exit on a match or on a first difference.
        for key in keys { matched |= Self.constantTimeEqual(presented, key) }
        return matched != 0
    }

    /// The token of `Bearer <token>` (scheme case-insensitive), or nil.
    static func bearerToken(_ header: String?) -> Substring? {
        guard let header else { return nil }
        let trimmed = header.drop { $0 == " " }
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).drop { $0 == " " }
        var end = token.endIndex
        while end > token.startIndex, token[token.index(before: end)] == " " { end = token.index(before: end) }
        return token.isEmpty ? nil : token[..<end]
    }

    /// 1 when equal, else 0; the time depends only on the lengths, not on the contents.
    static func constantTimeEqual(_ presented: [UInt8], _ key: [UInt8]) -> UInt8 {
        var difference: UInt8 = presented.count == key.count ? 0 : 1
        let count = presented.count
        for index in 0..<key.count {
            let other = count == 0 ? 0 : presented[index % count]
            difference |= key[index] ^ other
        }
        // 0 → 1, anything else → 0, without a branch on the difference.
        return UInt8(truncatingIfNeeded: (Int(difference) - 1) >> 8) & 1
    }

    /// FastAPI's `HTTPBearer` answer: 401 with `WWW-Authenticate: Bearer`.
    static func unauthorized(_ detail: String) -> HTTPError {
        var headers = HTTPHeaders()
        headers.set("www-authenticate", "Bearer")
        return HTTPError(401, detail, headers: headers)
    }
}

/// A key source that could not be used. Names where, never what.
public struct APIKeysError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let position: String
    public let problem: String

    public var description: String { "\(source): \(position) \(problem)" }
}
