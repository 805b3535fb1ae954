/// A checkpoint JSON file that cannot be used: unreadable, not JSON, or a field of the wrong type.
/// Names the file and, when one is at fault, the field path (`text_config.rope_parameters.full_attention`).
public struct ConfigFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// File name (`config.json`), or the path when it could not be read.
    public var file: String
    /// Dotted field path with `[i]` for list items; nil when the file as a whole is at fault.
    public var field: String?
    public var reason: String

    public init(file: String, field: String?, reason: String) {
        self.file = file
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(file): field \(field): \(reason)" }
        return "\(file): \(reason)"
    }
}
