import POSIX

/// Where a worker is on its way to serving: the routes answer 503 until `ready`.
public enum Readiness: Sendable {
    /// The master is still fetching the model (`progress` in 0...1 when known).
    case downloading(detail: String, progress: Double?)
    /// Weights are being loaded into memory.
    case loading(detail: String)
    case ready(any EmbeddingEngine)
    /// Preparing the model failed; the worker keeps answering 503 with the reason.
    case failed(detail: String)

    var statusName: String {
        switch self {
        case .downloading: "downloading"
        case .loading: "loading"
        case .ready: "healthy"
        case .failed: "failed"
        }
    }
}

/// The worker's current `Readiness`, shared by the loader and the request threads.
public final class ServiceState: Sendable {
    private let current: Locked<Readiness>

    public init(_ initial: Readiness = .loading(detail: "loading model")) {
        current = Locked(initial)
    }

    public var readiness: Readiness { current.withLock { $0 } }

    public func set(_ readiness: Readiness) {
        current.withLock { $0 = readiness }
    }

    /// The engine, if ready.
    public var engine: (any EmbeddingEngine)? {
        if case .ready(let engine) = readiness { return engine }
        return nil
    }
}
