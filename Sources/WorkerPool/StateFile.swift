import Foundation
import Glibc

/// A JSON document in the state directory, replaced atomically (write a temporary file
/// in the same directory, then rename over the old one), so a reader in another process sees the old
/// or the new document, never a torn one.
///
/// The master publishes warm-up progress this way and workers read it to answer
/// `/health` while the model is still downloading or loading.
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

/// Warm-up progress of the service, as the master publishes it for the workers' `/health`.
///
/// Kept free of model details: a phase, a human message ("downloading model 43%"), an
/// optional fraction, and who wrote it when.
public struct WarmupStatus: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        case starting, downloading, loading, ready, failed
    }

    public var phase: Phase
    public var message: String
    /// 0...1 when known.
    public var progress: Double?
    /// Seconds since 1970 (UTC) at which this was written.
    public var updatedAt: Double
    /// The writer's process id, so a reader can tell a stale file from a live master.
    public var pid: Int32

    public init(phase: Phase, message: String, progress: Double? = nil, updatedAt: Date = Date(), pid: Int32 = getpid()) {
        self.phase = phase
        self.message = message
        self.progress = progress.map { min(max($0, 0), 1) }
        self.updatedAt = updatedAt.timeIntervalSince1970
        self.pid = pid
    }

    enum CodingKeys: String, CodingKey {
        case phase, message, progress, pid
        case updatedAt = "updated_at"
    }

    public var isReady: Bool { phase == .ready }
}
