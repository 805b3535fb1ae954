import Foundation

/// Where `ensureModel` stands, for `/health` and start-up logs.
public struct HubProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// Asking the hub which commit and files the revision has.
        case resolving
        /// Fetching files (or waiting for another process that fetches them).
        case downloading
        /// The snapshot folder is complete.
        case ready
        /// `ensureModel` threw.
        case failed
    }

    public var phase: Phase
    public var model: String
    /// Bytes of this run's downloads already on disk (resumed bytes included).
    public var completedBytes: Int64
    /// Bytes this run has to download in total (0 when nothing or unknown).
    public var totalBytes: Int64
    /// The file being fetched.
    public var currentFile: String?
    /// Recent transfer rate, bytes per second.
    public var bytesPerSecond: Double?

    public init(
        phase: Phase, model: String, completedBytes: Int64 = 0, totalBytes: Int64 = 0, currentFile: String? = nil,
        bytesPerSecond: Double? = nil
    ) {
        self.phase = phase
        self.model = model
        self.completedBytes = completedBytes
        self.totalBytes = totalBytes
        self.currentFile = currentFile
        self.bytesPerSecond = bytesPerSecond
    }

    /// 0...1 when the total is known.
    public var fractionCompleted: Double? {
        guard totalBytes > 0 else { return nil }
        return min(1, Double(completedBytes) / Double(totalBytes))
    }

    /// One line for humans, e.g. "downloading 43% (120.0 MB of 280.0 MB)".
    public var summary: String {
        switch phase {
        case .resolving: return "resolving \(model)"
        case .ready: return "ready"
        case .failed: return "failed"
        case .downloading:
            guard let fraction = fractionCompleted else { return "downloading \(model)" }
            return "downloading \(Int(fraction * 100))% (\(ByteCount.format(completedBytes)) of "
                + "\(ByteCount.format(totalBytes)))"
        }
    }
}

/// Called with progress updates (throttled to a few per second). May be called
/// from the download thread; must not block.
public typealias HubProgressObserver = @Sendable (HubProgress) -> Void

/// Severity of a hub log line.
public enum HubLogLevel: String, Sendable {
    case debug, info, warning, error
}

/// Receives the client's log lines; the service forwards them to its logger.
public typealias HubLogger = @Sendable (HubLogLevel, String) -> Void

/// Human-readable sizes, rates and durations for log lines.
enum ByteCount {
    static func format(_ bytes: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    static func formatRate(_ bytesPerSecond: Double) -> String {
        format(Int64(bytesPerSecond.isFinite ? bytesPerSecond : 0)) + "/s"
    }

    static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m"
    }
}
