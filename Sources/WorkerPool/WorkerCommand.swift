/// What to exec for each worker: an absolute executable path, its arguments (without
/// argv[0], which is the executable path) and the complete environment it gets.
///
/// The supervisor adds the handshake variables (`WorkerHandshake.Variable`) on top.
public struct WorkerCommand: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    /// Descriptors the worker inherits at fds 5, 6, … in this order, after the handshake's
    /// (the master's metrics socket, issue 13). The caller keeps them open and owns them.
    public var inheritedDescriptors: [Int32]

    public init(executable: String, arguments: [String] = [], environment: [String: String], inheritedDescriptors: [Int32] = []) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.inheritedDescriptors = inheritedDescriptors
    }
}
