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
        return unit == 0 ? "\(bytes) B" : oneDecimal(value) + " " + units[unit]
    }

    /// `a + b`, saturating at Int64.max instead of trapping: sizes come from the network.
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? Int64.max : Int64.min) : total
    }

    /// `%.1f` without Foundation's `String(format:)`: rounds the exact binary value to
    /// the nearest tenth, ties to even, as printf does (0.05 is a bit above its decimal,
    /// so "0.1"; 0.15 a bit below, so "0.1"). The fused multiply-add gives the error of
    /// `value * 10`, which decides the cases the product alone rounds to a tie.
    static func oneDecimal(_ value: Double) -> String {
        let magnitude = abs(value)
        let scaled = magnitude * 10
        guard scaled.isFinite, scaled < 1e15 else { return "\(value)" }
        let error = (-scaled).addingProduct(magnitude, 10)
        var tenths = scaled.rounded(.down)
        let rest = scaled - tenths
        let odd = tenths.truncatingRemainder(dividingBy: 2) == 1
        if rest > 0.5 || (rest == 0.5 && (error > 0 || (error == 0 && odd))) { tenths += 1 }
        let whole = Int64(tenths)
        return (value < 0 && whole > 0 ? "-" : "") + "\(whole / 10).\(whole % 10)"
    }

    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    static func formatRate(_ bytesPerSecond: Double) -> String {
        format(Int64(bytesPerSecond.isFinite ? bytesPerSecond : 0)) + "/s"
    }

    static func formatDuration(_ seconds: Double) -> String {
        // An ETA from absurd announced sizes must not trap in Int(_:).
        guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(twoDigits(total % 60))s" }
        return "\(total / 3600)h\(twoDigits((total % 3600) / 60))m"
    }
}
