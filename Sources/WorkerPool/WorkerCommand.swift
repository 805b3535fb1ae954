/// What to exec for each worker: an absolute executable path, its arguments (without
/// argv[0], which is the executable path) and the complete environment it gets.
///
/// The supervisor adds the handshake variables (`WorkerHandshake.Variable`) on top.
public struct WorkerCommand: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]

    public init(executable: String, arguments: [String] = [], environment: [String: String]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }
}
