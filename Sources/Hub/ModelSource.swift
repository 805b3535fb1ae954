import Foundation
import POSIX

/// A validated hub repository id (`name` or `namespace/name`).
///
/// Same rules as huggingface_hub's `validate_repo_id`: ASCII letters, digits, `-`,
/// `_`, `.`; each part 1...96 characters, not starting or ending with `-` or `.`;
/// no `--` or `..`; not ending in `.git`. These rules also make the id safe to turn
/// into the cache folder name `models--namespace--name`.
public struct RepoID: Sendable, Hashable, CustomStringConvertible {
    public let namespace: String?
    public let name: String

    public init(_ id: String) throws(HubError) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else {
            throw .invalidModelID(id, reason: "expected 'name' or 'namespace/name'")
        }
        if id.contains("--") || id.contains("..") {
            throw .invalidModelID(id, reason: "'--' and '..' are not allowed")
        }
        if id.hasSuffix(".git") { throw .invalidModelID(id, reason: "cannot end with '.git'") }
        for part in parts where !RepoID.isValidPart(part) {
            throw .invalidModelID(
                id, reason: "each part must be 1 to 96 of A-Z a-z 0-9 - _ . and not start or end with - or .")
        }
        namespace = parts.count == 2 ? parts[0] : nil
        name = parts[parts.count - 1]
    }

    public var description: String { namespace.map { "\($0)/\(name)" } ?? name }

    /// `models--namespace--name`, the cache folder huggingface_hub uses.
    public var cacheFolderName: String { (["models"] + (namespace.map { [$0] } ?? []) + [name]).joined(separator: "--") }

    private static func isValidPart(_ part: String) -> Bool {
        guard (1...96).contains(part.utf8.count) else { return false }
        let allowed = part.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard allowed, let first = part.utf8.first, let last = part.utf8.last else { return false }
        let edge: Set<UInt8> = [UInt8(ascii: "-"), UInt8(ascii: ".")]
        return !edge.contains(first) && !edge.contains(last)
    }
}

/// Where a model comes from: a folder on disk used as is, or a hub repository.
public enum ModelSource: Sendable, Equatable {
    case localDirectory(URL)
    case repository(RepoID)

    /// Like transformers' `from_pretrained`: an existing directory wins; something
    /// that looks like a path (`/`, `./`, `../`, `~`) but is missing is an error;
    /// anything else must be a repo id.
    public static func parse(_ id: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(HubError) -> ModelSource
    {
        let trimmed = id.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .invalidModelID(id, reason: "empty") }
        let expanded = EnvironmentReader(environment).expandUser(trimmed)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: expanded, isDirectory: &isDirectory), isDirectory.boolValue {
            return .localDirectory(URL(fileURLWithPath: expanded, isDirectory: true).standardizedFileURL)
        }
        let looksLikePath = ["/", "./", "../", "~"].contains { trimmed.hasPrefix($0) } || trimmed == "."
        if looksLikePath { throw .localDirectoryNotFound(expanded) }
        return .repository(try RepoID(trimmed))
    }
}
