import Foundation
import Glibc

/// One repository's folder in the huggingface_hub cache layout:
///
///     <cache>/models--ORG--NAME/
///         blobs/<etag>                    file contents, named by git sha1 or LFS sha256
///         blobs/<etag>.incomplete         a download in progress (resumable)
///         refs/<revision>                 the commit a branch or tag pointed at
///         snapshots/<commit>/<file>       relative symlink to ../../blobs/<etag>
///     <cache>/.locks/models--ORG--NAME/<etag>.lock
///
/// Python tools and this client read and write the same tree, so either can reuse
/// what the other downloaded. Symbolic links belong in `snapshots/` only: the files the
/// client opens itself (partial downloads, refs, locks, temporaries) are opened with
/// `O_NOFOLLOW`, a blob that is a link is not trusted (it is downloaded and replaced),
/// and a ref must hold a commit hash before it becomes a path.
public struct RepoCache: Sendable {
    public let cacheDirectory: URL
    public let repo: RepoID

    public init(cacheDirectory: URL, repo: RepoID) {
        self.cacheDirectory = cacheDirectory
        self.repo = repo
    }

    public var repoDirectory: URL { cacheDirectory.appendingPathComponent(repo.cacheFolderName, isDirectory: true) }
    var blobsDirectory: URL { repoDirectory.appendingPathComponent("blobs", isDirectory: true) }
    var locksDirectory: URL {
        cacheDirectory.appendingPathComponent(".locks", isDirectory: true)
            .appendingPathComponent(repo.cacheFolderName, isDirectory: true)
    }

    public func snapshotDirectory(commit: String) -> URL {
        repoDirectory.appendingPathComponent("snapshots", isDirectory: true)
            .appendingPathComponent(commit, isDirectory: true)
    }

    func blobPath(etag: String) -> URL { blobsDirectory.appendingPathComponent(etag) }
    func incompletePath(etag: String) -> URL { blobsDirectory.appendingPathComponent(etag + ".incomplete") }
    func lockPath(etag: String) -> URL { locksDirectory.appendingPathComponent(etag + ".lock") }
    func refPath(revision: String) -> URL { repoDirectory.appendingPathComponent("refs/" + revision) }

    func pointerPath(commit: String, file: String) -> URL {
        snapshotDirectory(commit: commit).appendingPathComponent(file)
    }

    /// The symlink text for `file`: `../../blobs/<etag>`, with one more `../` per
    /// folder level inside the file name (what huggingface_hub writes).
    static func pointerTarget(file: String, etag: String) -> String {
        let depth = file.split(separator: "/").count - 1
        return String(repeating: "../", count: 2 + depth) + "blobs/" + etag
    }

    /// The commit `revision` names in the cache: itself when it is a full commit
    /// hash, else the content of `refs/<revision>`; nil when there is no such ref.
    ///
    /// The ref's content becomes a path component (`snapshots/<commit>`), so anything
    /// but a 40-hex commit hash is an error, and so is a symbolic link in its place.
    public func commit(forRevision revision: String) throws(HubError) -> String? {
        if HubNames.isCommitHash(revision) { return revision }
        guard HubNames.isSafeRelativePath(revision) else { return nil }
        let path = refPath(revision: revision)
        guard let data = try FileSystem.readSmallFile(path) else { return nil }
        let commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard HubNames.isCommitHash(commit) else {
            throw .corruptCache(
                path: path.path, reason: "holds '\(HubAPI.shortened(commit))', not a 40-character commit hash")
        }
        return commit
    }

    /// True when the snapshot has `file` and it resolves to a readable regular file.
    public func hasFile(commit: String, file: String) -> Bool {
        var status = stat()
        return stat(pointerPath(commit: commit, file: file).path, &status) == 0
            && (status.st_mode & S_IFMT) == S_IFREG
    }

    /// Records that `revision` points at `commit` (no-op for commit hashes), atomically
    /// so that a concurrent reader never sees half a hash.
    func writeRef(revision: String, commit: String) throws(HubError) {
        guard revision != commit, !HubNames.isCommitHash(revision) else { return }
        guard HubNames.isSafeRelativePath(revision) else { return }
        let path = refPath(revision: revision)
        if let existing = try? FileSystem.readSmallFile(path), existing == Data(commit.utf8) { return }
        try FileSystem.createDirectory(path.deletingLastPathComponent())
        try FileSystem.writeAtomically(Data(commit.utf8), to: path)
    }

    /// Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative symlink,
    /// replacing whatever was there, via rename so readers never see a gap.
    func linkPointer(commit: String, file: String, etag: String) throws(HubError) {
        let pointer = pointerPath(commit: commit, file: file)
        try FileSystem.createDirectory(pointer.deletingLastPathComponent())
        let target = RepoCache.pointerTarget(file: file, etag: etag)
        if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: pointer.path),
            existing == target
        {
            return
        }
        let temporary = pointer.deletingLastPathComponent()
            .appendingPathComponent(".\(pointer.lastPathComponent).\(FileSystem.uniqueSuffix()).tmp")
        guard symlink(target, temporary.path) == 0 else {
            throw FileSystem.error(temporary, "create symlink", errno)
        }
        guard rename(temporary.path, pointer.path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw FileSystem.error(pointer, "create symlink", code)
        }
    }

    /// Tags the cache root for backup tools, as huggingface_hub does (best effort).
    func tagCacheDirectory() {
        let tag = cacheDirectory.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let content =
            "Signature: 8a477f597d28d172789f06886806bc55\n"
            + "# This file is a cache directory tag created by huggingface_hub.\n"
            + "# For information about cache directory tags, see:\n"
            + "#\thttps://bford.info/cachedir/\n"
        try? FileSystem.writeAtomically(Data(content.utf8), to: tag)
    }
}

/// Shape checks for names that become paths or URLs.
enum HubNames {
    static func isCommitHash(_ text: String) -> Bool { isHex(text, length: 40) }
    /// A git blob id (SHA-1 of "blob <length>\0" + content): what the hub sends as the
    /// ETag of a file that is not in LFS.
    static func isGitBlobID(_ text: String) -> Bool { isHex(text, length: 40) }
    static func isSHA256(_ text: String) -> Bool { isHex(text, length: 64) }

    static func isHex(_ text: String, length: Int) -> Bool {
        text.utf8.count == length
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// A relative path without `..`, `.`, empty components, backslashes or NUL: safe to
    /// join under a cache folder. Repository file names and revisions come from the
    /// network, so they are checked before touching the disk.
    static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    /// An etag usable as a blob file name.
    static func isSafeBlobName(_ etag: String) -> Bool {
        !etag.isEmpty && etag.utf8.count <= 255
            && etag.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}
