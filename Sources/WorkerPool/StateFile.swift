import Foundation
import Glibc
import POSIX

/// A JSON document in the state directory, replaced atomically (write a temporary file
/// in the same directory, then rename over the old one), so a reader in another process sees the old
/// or the new document, never a torn one.
///
/// Generic over the document: the pool knows nothing of what it holds (the service keeps
/// its warm-up status, `EmbeddingService.WarmupStatus`, in one).
public struct StateFile: Sendable {
    public let directory: String
    public let name: String

    public init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    public var path: String { directory.hasSuffix("/") ? directory + name : directory + "/" + name }

    /// Writes `value` as JSON (sorted keys), creating the directory when missing.
    public func write<Value: Encodable>(_ value: Value) throws(StateFileError) {
        let data: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            data = try encoder.encode(value)
        } catch {
            throw .encoding(path: path, message: String(describing: error))
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .system(
                SystemCallError("mkdir", subject: directory, errno: (error as NSError).code == 0 ? EIO : Int32((error as NSError).code)))
        }
        var random = SystemRandomNumberGenerator()
        let temporary = "\(directory)/.\(name).\(getpid()).\(random.next() as UInt32).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(.last("open", subject: temporary)) }
        do throws(SystemCallError) {
            defer { close(fd) }
            // No fsync: readers need atomicity (rename gives it), not durability; the
            // master rewrites this document on every start.
            try Descriptors.writeAll(fd, Array(data) + [0x0a])
        } catch {
            unlink(temporary)
            throw .system(error)
        }
        guard rename(temporary, path) == 0 else {
            let error = SystemCallError.last("rename", subject: path)
            unlink(temporary)
            throw .system(error)
        }
    }

    /// The current document, or nil when none has been written yet.
    public func read<Value: Decodable>(_ type: Value.Type) throws(StateFileError) -> Value? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if access(path, F_OK) != 0 && errno == ENOENT { return nil }
            throw .system(.last("read", subject: path))
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw .decoding(path: path, message: String(describing: error))
        }
    }

    /// Removes the document; a missing one is not an error.
    public func remove() {
        unlink(path)
    }
}

public enum StateFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case encoding(path: String, message: String)
    case decoding(path: String, message: String)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .encoding(let path, let message): "cannot encode \(path): \(message)"
        case .decoding(let path, let message): "\(path) is not a valid state document: \(message)"
        case .system(let error): error.description
        }
    }
}
