import Foundation
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// Tensors computed from a checkpoint at load (e.g. weights repacked for a kernel), kept in one
/// safetensors file that every process of the machine maps read-only, so the machine holds one
/// copy in the page cache instead of one private copy per worker.
///
/// `open` takes an exclusive `flock` on `<name>.lock` and looks for `<name>.safetensors` whose
/// metadata records the same `identity` (checkpoint files and layout versions). Found: the
/// lock is released and `tensor(_:shape:derive:)` hands out views of the mapped file. Not
/// found: this process derives each tensor once, appends it to a temporary file, and hands
/// out a read-only mapping of what it wrote (the same pages other processes will map);
/// `finish()` writes the header, fsyncs, renames the file into place atomically and releases
/// the lock, so a second process waiting in `open` maps the finished file and packs nothing.
/// A file for another identity (an older checkpoint) is removed then.
///
/// Never fatal: where the file cannot be written (read-only or full disk), tensors stay
/// private copies, as without a cache, and `summary` says why.
public final class SharedTensorFile: @unchecked Sendable {
    public static let fileExtension = "safetensors"
    /// Header bytes reserved before the data, so tensors can be appended as they are derived and
    /// the header written last. 1 MiB holds ~8000 entries; data then starts page-aligned.
    static let headerCapacity = 1 << 20
    static let identityKey = "identity"

    public let path: String
    public let identity: String
    private let lock = NSLock()
    private var state: State
    private var counts = (mapped: 0, written: 0, private: 0)
    private var bytes = 0
    private var note: String?

    private enum State {
        case reading(SafeTensorsFile)
        case writing(Writer)
        case privateCopies
    }

    /// Opens (or starts) the shared file `<directory>/<baseName>-<hash of identity>.safetensors`.
    /// Blocks while another process writes it.
    public init(directory: URL, baseName: String, identity: String) {
        self.identity = identity
        let name = "\(baseName)-\(Self.hash(identity))"
        path = directory.appendingPathComponent(name + "." + Self.fileExtension).path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let lockFD = try Self.lockExclusively(directory.appendingPathComponent(name + ".lock").path)
            if let file = try? SafeTensorsFile(path: path), file.metadata[Self.identityKey] == identity {
                flock(lockFD, LOCK_UN)
                close(lockFD)
                state = .reading(file)
                return
            }
            do {
                state = .writing(try Writer(path: path, lockFD: lockFD, directory: directory, baseName: baseName))
            } catch {
                flock(lockFD, LOCK_UN)
                close(lockFD)
                throw error
            }
        } catch {
            state = .privateCopies
            note = "\(error)"
        }
    }

    deinit {
        if case .writing(let writer) = state { writer.abandon() }
    }

    /// The tensor `name` of `shape` and `dtype`: from the shared file when it is there, else
    /// `derive()` (contiguous, on the CPU), stored in the file being written when there is one.
    public func tensor(_ name: String, shape: [Int], dtype: DType, derive: () throws -> Tensor) throws -> Tensor {
        try lock.withLock {
            switch state {
            case .reading(let file):
                if let info = try? file.info(name), info.shape == shape, info.dtype == dtype {
                    counts.mapped += 1
                    bytes += info.byteRange.count
                    return try file.tensor(name)
                }
                counts.private += 1
                note = "\(path) lacks '\(name)' \(shape) \(dtype)"
                return try derive()
            case .writing(let writer):
                let derived = try derive()
                guard derived.shape == shape, derived.dtype == dtype else {
                    throw SafeTensorsError.badShape(
                        file: path, tensor: name, reason: "derived \(derived.shape) \(derived.dtype), expected \(shape) \(dtype)")
                }
                do {
                    let shared = try writer.append(name, derived)
                    counts.written += 1
                    bytes += derived.numel * dtype.elementSize
                    return shared
                } catch {
                    writer.abandon()
                    state = .privateCopies
                    note = "\(error)"
                    counts.private += 1
                    return derived
                }
            case .privateCopies:
                counts.private += 1
                return try derive()
            }
        }
    }

    /// Publishes a file being written (header, fsync, rename) and releases the lock; after this,
    /// tensors handed out stay valid but new ones are private. Idempotent.
    public func finish() {
        lock.withLock {
            guard case .writing(let writer) = state else { return }
            do {
                try writer.publish(metadata: [Self.identityKey: identity])
                state = .privateCopies
            } catch {
                writer.abandon()
                state = .privateCopies
                note = "\(error)"
            }
        }
    }

    /// Where the tensors came from, for the log.
    public var summary: String {
        lock.withLock {
            let megabytes = String(format: "%.0f MB", Double(bytes) / 1e6)
            var parts: [String] = []
            if counts.mapped > 0 { parts.append("\(counts.mapped) tensors (\(megabytes)) mapped from \(path)") }
            if counts.written > 0 { parts.append("\(counts.written) tensors (\(megabytes)) written to \(path)") }
            if counts.private > 0 { parts.append("\(counts.private) private copies") }
            if let note { parts.append("(\(note))") }
            return parts.isEmpty ? "nothing derived" : parts.joined(separator: ", ")
        }
    }

    /// Tensors handed out from the shared file (mapped or written) and as private copies.
    public var sharedCount: Int { lock.withLock { counts.mapped + counts.written } }
    public var privateCount: Int { lock.withLock { counts.private } }

    /// FNV-1a, 64 bits: names the file per identity (the identity itself is checked from the header).
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func lockExclusively(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw SafeTensorsError.cannotOpen(file: path, reason: "flock: \(reason)")
            }
        }
        return fd
    }
}

/// Appends tensors to `<path>.tmp-<pid>` after a reserved header, then publishes it.
private final class Writer {
    let path: String
    let temporary: String
    let directory: URL
    let baseName: String
    private let fd: Int32
    private let lockFD: Int32
    private var entries: [(name: String, dtype: DType, shape: [Int], range: Range<Int>)] = []
    private var dataEnd = 0
    private var done = false

    init(path: String, lockFD: Int32, directory: URL, baseName: String) throws {
        self.path = path
        self.lockFD = lockFD
        self.directory = directory
        self.baseName = baseName
        temporary = path + ".tmp-\(getpid())"
        fd = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(file: temporary, reason: String(cString: strerror(errno))) }
    }

    /// Writes the tensor's bytes and returns a tensor on a read-only mapping of them.
    func append(_ name: String, _ tensor: Tensor) throws -> Tensor {
        let count = tensor.numel * tensor.dtype.elementSize
        let offset = SharedTensorFile.headerCapacity + dataEnd
        let written: Bool? = tensor.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let result = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { return false }
                done += result
            }
            return true
        }
        guard let written else {
            throw SafeTensorsError.badShape(file: temporary, tensor: name, reason: "not a contiguous CPU tensor")
        }
        guard written else {
            throw SafeTensorsError.cannotOpen(file: temporary, reason: "write: \(String(cString: strerror(errno)))")
        }
        entries.append((name, tensor.dtype, tensor.shape, dataEnd..<(dataEnd + count)))
        dataEnd += count
        if count == 0 { return try Tensor.zeros(tensor.shape, dtype: tensor.dtype) }
        let mapping = try MappedFile(descriptor: fd, path: temporary, offset: offset, length: count)
        guard let base = mapping.bytes.baseAddress else {
            throw SafeTensorsError.cannotOpen(file: temporary, reason: "empty mapping")
        }
        return try Tensor.fromBlob(base, shape: tensor.shape, dtype: tensor.dtype, owner: mapping)
    }

    func publish(metadata: [String: String]) throws {
        var header: [String: Any] = ["__metadata__": metadata]
        for entry in entries {
            header[entry.name] = [
                "dtype": SharedTensorFile.safetensorsName(entry.dtype), "shape": entry.shape,
                "data_offsets": [entry.range.lowerBound, entry.range.upperBound],
            ]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        let length = SharedTensorFile.headerCapacity - 8
        guard json.count <= length else {
            throw SafeTensorsError.headerTooLong(file: temporary, headerLength: UInt64(json.count), fileSize: length)
        }
        json.append(Data(repeating: 0x20, count: length - json.count))  // the format allows space padding
        var prefix = Data(count: 8)
        prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(length).littleEndian, as: UInt64.self) }
        let block = prefix + json
        let ok = block.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) == $0.count }
        guard ok, fsync(fd) == 0 else {
            throw SafeTensorsError.cannotOpen(file: temporary, reason: "write header: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            throw SafeTensorsError.cannotOpen(file: path, reason: "rename: \(String(cString: strerror(errno)))")
        }
        removeStaleFiles()
        close(fd)
        release()
    }

    /// Drops the temporary file and the lock (tensors already handed out keep their mappings).
    func abandon() {
        guard !done else { return }
        unlink(temporary)
        close(fd)
        release()
    }

    private func release() {
        done = true
        flock(lockFD, LOCK_UN)
        close(lockFD)
    }

    /// Files of other identities (older checkpoints) and temporaries of writers that died. Their
    /// names are only unlinked: processes still mapping them keep their pages.
    private func removeStaleFiles() {
        let current = URL(fileURLWithPath: path).lastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(baseName + "-") && name != current {
            // Finished files of other identities; temporaries only of this one (its lock is held).
            let stale = name.hasSuffix("." + SharedTensorFile.fileExtension) || name.hasPrefix(current + ".tmp-")
            if stale { unlink(directory.appendingPathComponent(name).path) }
        }
    }
}

extension SharedTensorFile {
    /// The safetensors spelling of a dtype (the inverse of the reader's table).
    static func safetensorsName(_ dtype: DType) -> String {
        switch dtype {
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float64: "F64"
        case .int64: "I64"
        case .int32: "I32"
        case .int8: "I8"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }
}
