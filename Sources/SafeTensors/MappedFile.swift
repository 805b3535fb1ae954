#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped copy-on-write into memory.
///
/// Pages come from the page cache, so processes that map the same checkpoint share one
/// copy. The mapping is private and writable so that an accidental in-place write by a
/// kernel copies a page instead of faulting. Tensors wrapping this memory retain the
/// object; the mapping is removed when the last of them is gone.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    let base: UnsafeMutableRawPointer?

    public init(path: String) throws {
        self.path = path
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
        size = Int(info.st_size)
        if size == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw SafeTensorsError.cannotOpen(file: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        base = mapped
    }

    deinit {
        if let base { munmap(base, size) }
    }

    /// The mapped bytes; valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
