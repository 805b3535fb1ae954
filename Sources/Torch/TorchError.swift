import CTorch

/// A libtorch failure (shape mismatch, unsupported dtype, out of memory, ...),
/// carrying libtorch's own message.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "libtorch: \(message)" }

    /// The message the bridge recorded for the last failure on this thread.
    static func last() -> TorchError {
        TorchError(String(cString: ct_last_error()))
    }
}
