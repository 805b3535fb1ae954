import Glibc

/// A failed system call: which call, on what, and the `errno` it left.
///
/// Kept as a value (not a message string) so callers can branch on the errno,
/// e.g. `EADDRINUSE`, while the description stays readable in a log line.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let subject: String
    public let errno: Int32

    public init(_ call: String, subject: String = "", errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// Captures the current thread's `errno` right after a failed call.
    public static func last(_ call: String, subject: String = "") -> SystemCallError {
        SystemCallError(call, subject: subject, errno: Glibc.errno)
    }

    public var description: String {
        let message = String(cString: strerror(errno))
        return subject.isEmpty ? "\(call): \(message)" : "\(call) \(subject): \(message)"
    }
}
