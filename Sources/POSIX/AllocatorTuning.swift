#if canImport(Glibc)
    import Glibc
#endif

/// How the process heap (glibc malloc) keeps and returns memory: the one place the service
/// sets malloc's parameters or trims it.
///
/// By default glibc serves every allocation above 32 MiB with a fresh mmap and unmaps it on free.
/// A many-tile page allocates such activation buffers (tiles × 1024 patches × 3072 floats) in every
/// vision layer, so each forward pass would page-fault and zero hundreds of MiB again; measured on
/// the SigLIP MLP, about 10% of its time. With mmap-backed allocation off and a high trim threshold
/// (`keepLargeBuffers`), freed blocks are reused by the next layer and the next request, and the
/// resident set stays at its high-water mark until something calls `releaseFreeMemory`.
///
/// Process-wide and idempotent; memory maps made directly (the safetensors weights) are unaffected.
/// Every function returns false where the C library is not glibc or refuses the setting.
public enum AllocatorTuning {
    /// glibc's <malloc.h> parameter numbers (ABI-stable); Swift's Glibc module does not import malloc.h.
    private static let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    private static let mmapMax: Int32 = -4  // M_MMAP_MAX
    private static let arenaMax: Int32 = -8  // M_ARENA_MAX

    /// Large freed buffers stay in the heap for the next pass (see the type's comment).
    @discardableResult
    public static func keepLargeBuffers() -> Bool {
        mallopt(mmapMax, 0) && mallopt(trimThreshold, 1 << 30)
    }

    /// Every thread allocates from the one main arena, so `releaseFreeMemory` reaches all of the
    /// process's free memory. glibc gives threads their own arenas, and `malloc_trim` returns
    /// neither those arenas' top chunks nor, with `keepLargeBuffers`' trim threshold, does `free`:
    /// each FastCGI accept thread kept the last page it decoded and tiled. Measured (full-size
    /// model, one worker, letter pages and queries, trimming after each page): anonymous memory
    /// 66 MB after load, 129 MB after five pages (three at once) and eight concurrent queries;
    /// with one arena 64 and 101 MB. With the tiny model, 2048² pages four at a time: +87 MB
    /// over one page with an arena per thread, +0 with one.
    ///
    /// Must run before the process starts threads: a thread that already has an arena keeps it.
    @discardableResult
    public static func useOneArena() -> Bool {
        mallopt(arenaMax, 1)
    }

    /// Hands the heap's free pages back to the kernel (glibc `malloc_trim`): after loading (the
    /// tensors derived at load and written to a shared file), and after requests that allocated a
    /// lot (pages; large refused bodies).
    @discardableResult
    public static func releaseFreeMemory() -> Bool {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return false }
            typealias MallocTrim = @convention(c) (Int) -> Int32
            return unsafeBitCast(symbol, to: MallocTrim.self)(0) == 1
        #else
            return false
        #endif
    }

    private static func mallopt(_ parameter: Int32, _ value: Int32) -> Bool {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            return unsafeBitCast(symbol, to: Mallopt.self)(parameter, value) == 1
        #else
            return false
        #endif
    }
}
