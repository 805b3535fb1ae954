import Foundation
import Glibc

/// Warm-up progress of the service, as the master publishes it in the run directory's
/// state file (a `WorkerPool.StateFile`) for the workers' `/health`: a phase, a human message
/// ("downloading model 43%"), an optional fraction, who wrote it when, and, once `ready`, the
/// model directory the master prepared, which the workers load from (so they never resolve
/// the model through the hub themselves).
public struct WarmupStatus: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        case starting, downloading, loading, ready, failed
    }

    public var phase: Phase
    public var message: String
    /// 0...1 when known.
    public var progress: Double?
    /// Seconds since 1970 (UTC) at which this was written.
    public var updatedAt: Double
    /// The writer's process id, so a reader can tell a stale file from a live master.
    public var pid: Int32
    /// The local folder with the model's files; set with `ready`.
    public var modelDirectory: String?

    public init(
        phase: Phase, message: String, progress: Double? = nil, modelDirectory: String? = nil, updatedAt: Date = Date(),
        pid: Int32 = getpid()
    ) {
        self.phase = phase
        self.message = message
        self.progress = progress.map { min(max($0, 0), 1) }
        self.modelDirectory = modelDirectory
        self.updatedAt = updatedAt.timeIntervalSince1970
        self.pid = pid
    }

    enum CodingKeys: String, CodingKey {
        case phase, message, progress, pid
        case updatedAt = "updated_at"
        case modelDirectory = "model_directory"
    }

    public var isReady: Bool { phase == .ready }
}
