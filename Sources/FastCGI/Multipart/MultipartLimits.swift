/// Bounds on what a form body may contain, checked while parsing so hostile input
/// costs bounded work. Defaults follow Starlette's (1000 parts, 1 MiB per text field).
public struct MultipartLimits: Sendable, Equatable {
    /// Parts (files and fields together).
    public var maxParts: Int
    /// Bytes of one part's header block, CRLFs included.
    public var maxHeaderBytes: Int
    /// Bytes of a part without a filename (a text field). Files are bounded by `maxBodyBytes`.
    public var maxFieldBytes: Int
    /// Bytes of the whole form body.
    public var maxBodyBytes: Int

    public init(maxParts: Int = 1000, maxHeaderBytes: Int = 16 * 1024, maxFieldBytes: Int = 1024 * 1024, maxBodyBytes: Int = Int.max) {
        self.maxParts = maxParts
        self.maxHeaderBytes = maxHeaderBytes
        self.maxFieldBytes = maxFieldBytes
        self.maxBodyBytes = maxBodyBytes
    }
}
