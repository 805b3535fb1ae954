#if canImport(Glibc)
    import Glibc
#endif

/// Keeps large freed buffers inside the process heap (glibc malloc).
///
/// By default glibc serves every allocation above 32 MiB with a fresh mmap and unmaps it on free.
/// A many-tile page allocates such activation buffers (tiles × 1024 patches × 3072 floats) in every
/// vision layer, so each forward pass would page-fault and zero hundreds of MiB again; measured on
/// the SigLIP MLP, about 10% of its time. With mmap-backed allocation off and a high trim threshold,
/// freed blocks are reused by the next layer and the next request. The cost is that the resident
/// set stays at its high-water mark instead of shrinking between requests.
///
/// Process-wide and idempotent; memory maps made directly (the safetensors weights) are unaffected.
enum AllocatorTuning {
    /// glibc's <malloc.h> parameter numbers (ABI-stable); Swift's Glibc module does not import malloc.h.
    private static let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    private static let mmapMax: Int32 = -4  // M_MMAP_MAX

    /// Returns false where the C library has no `mallopt` (not glibc) or refuses the settings.
    @discardableResult
    static func keepLargeBuffers() -> Bool {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            return mallopt(mmapMax, 0) == 1 && mallopt(trimThreshold, 1 << 30) == 1
        #else
            return false
        #endif
    }

    /// Hands the heap's free pages back to the kernel (glibc `malloc_trim`). Called once after
    /// loading: tensors derived at load and written to a shared file are freed in the heap, and
    /// with `keepLargeBuffers` they would otherwise stay resident (up to the token table, 155 MB
    /// for the published model) until activations happen to reuse them.
    @discardableResult
    static func releaseFreeMemory() -> Bool {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return false }
            typealias MallocTrim = @convention(c) (Int) -> Int32
            return unsafeBitCast(symbol, to: MallocTrim.self)(0) == 1
        #else
            return false
        #endif
    }
}
