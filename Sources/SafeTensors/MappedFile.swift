import Glibc

/// A file (or a range of one) mapped read-only into memory.
///
/// Pages come from the page cache, so processes that map the same checkpoint share one
/// copy. The mapping is `PROT_READ`: weights are never written (inference only; dtype
/// casts and repacking make new tensors), so a stray in-place write by a kernel faults at
/// once instead of silently turning shared pages into private copies. Tensors wrapping
/// this memory retain the object; the mapping is removed when the last of them is gone.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// Bytes of the mapped range (for a whole file: the file's size).
    public let size: Int
    /// Start of the mapped bytes. Read-only memory: libtorch's `from_blob` takes a mutable
    /// pointer, but nothing writes through it.
    let base: UnsafeMutableRawPointer?
    /// What `munmap` needs: the page-aligned start and length actually mapped.
    private let mappedStart: UnsafeMutableRawPointer?
    private let mappedLength: Int

    /// Maps all of `path`.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError.cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SafeTensorsError.cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError.cannotOpen(file: path, reason: "not a regular file")
        }
        try self.init(descriptor: fd, path: path, offset: 0, length: Int(info.st_size))
    }

    /// Maps `length` bytes of an open file from `offset` (any offset: the mapping starts at the
    /// page below it). `path` is for error messages. The descriptor may be closed afterwards.
    public init(descriptor fd: Int32, path: String, offset: Int, length: Int) throws {
        self.path = path
        size = length
        guard length > 0 else {
            base = nil
            mappedStart = nil
            mappedLength = 0
            return
        }
        guard offset >= 0 else {
            throw SafeTensorsError.cannotOpen(file: path, reason: "negative offset \(offset)")
        }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let alignedOffset = offset / page * page
        let lead = offset - alignedOffset
        let mapped = mmap(nil, length + lead, PROT_READ, MAP_PRIVATE, fd, off_t(alignedOffset))
        guard let mapped, mapped != MAP_FAILED else {
            throw SafeTensorsError.cannotOpen(file: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        mappedStart = mapped
        mappedLength = length + lead
        base = mapped + lead
    }

    deinit {
        if let mappedStart { munmap(mappedStart, mappedLength) }
    }

    /// The mapped bytes; valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
