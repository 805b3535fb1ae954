import Foundation
import Logging

/// Progress bookkeeping for one `ensureModel` run: feeds the observer (throttled)
/// and writes log lines with bytes, rate and ETA for large files.
final class DownloadMeter {
    private let model: String
    private let totalBytes: Int64
    private let observer: HubProgressObserver?
    private let logger: Logger
    private let largeFileThreshold: Int64
    private let logInterval: TimeInterval

    private var finishedBytes: Int64 = 0
    private var file: String?
    private var fileExpected: Int64?
    private var fileBytes: Int64 = 0
    private var fileStartBytes: Int64 = 0
    private var fileStart = Date()
    private var lastLog = Date()
    private var lastNotify = Date.distantPast

    init(
        model: String, totalBytes: Int64, observer: HubProgressObserver?, logger: Logger,
        largeFileThreshold: Int64, logInterval: TimeInterval
    ) {
        self.model = model
        self.totalBytes = totalBytes
        self.observer = observer
        self.logger = logger
        self.largeFileThreshold = largeFileThreshold
        self.logInterval = logInterval
    }

    private var isLarge: Bool { (fileExpected ?? 0) >= largeFileThreshold }

    private var rate: Double? {
        let elapsed = Date().timeIntervalSince(fileStart)
        guard elapsed > 0.05 else { return nil }
        return Double(fileBytes - fileStartBytes) / elapsed
    }

    /// A file transfer starts (or resumes at `offset` bytes).
    func begin(file name: String, expected: Int64?, offset: Int64) {
        file = name
        fileExpected = expected
        fileBytes = offset
        fileStartBytes = offset
        fileStart = Date()
        lastLog = fileStart
        let size = expected.map { ByteCount.format($0) } ?? "unknown size"
        let resume = offset > 0 ? ", resuming at \(ByteCount.format(offset))" : ""
        logger.log(level: isLarge ? .info : .debug, "Downloading \(name) (\(size))\(resume)")
        notify(force: true)
    }

    /// The server ignored the Range request; the file restarts from zero.
    func restarted() {
        fileBytes = 0
        fileStartBytes = 0
        fileStart = Date()
    }

    /// `count` more bytes of the current file are on disk.
    func advance(by count: Int) {
        fileBytes += Int64(count)
        let now = Date()
        if isLarge, now.timeIntervalSince(lastLog) >= logInterval {
            lastLog = now
            logger.info("\(progressLine())")
        }
        notify(force: false)
    }

    /// The current file is complete (verified and in place).
    func finish() {
        guard let name = file else { return }
        let elapsed = Date().timeIntervalSince(fileStart)
        let transferred = fileBytes - fileStartBytes
        let speed = elapsed > 0 ? ", \(ByteCount.formatRate(Double(transferred) / elapsed))" : ""
        logger.log(
            level: isLarge ? .info : .debug,
            "Downloaded \(name) (\(ByteCount.format(fileBytes))) in \(ByteCount.formatDuration(elapsed))\(speed)")
        finishedBytes = ByteCount.sum(finishedBytes, fileBytes)
        file = nil
        fileBytes = 0
        fileStartBytes = 0
        notify(force: true)
    }

    /// A file was found already downloaded (by another process while we waited).
    func skip(expected: Int64?) {
        finishedBytes = ByteCount.sum(finishedBytes, expected ?? 0)
        notify(force: true)
    }

    func progressLine() -> String {
        let name = file ?? model
        var line = "\(name): \(ByteCount.format(fileBytes))"
        if let expected = fileExpected, expected > 0 {
            let percent = Int(Double(fileBytes) / Double(expected) * 100)
            line += " / \(ByteCount.format(expected)) (\(percent)%)"
        }
        if let rate, rate > 0 {
            line += ", \(ByteCount.formatRate(rate))"
            if let expected = fileExpected {
                line += ", ETA \(ByteCount.formatDuration(Double(expected - fileBytes) / rate))"
            }
        }
        return line
    }

    var snapshot: HubProgress {
        HubProgress(
            phase: .downloading, model: model, completedBytes: ByteCount.sum(finishedBytes, fileBytes), totalBytes: totalBytes,
            currentFile: file, bytesPerSecond: rate)
    }

    private func notify(force: Bool) {
        guard let observer else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastNotify) >= 0.2 else { return }
        lastNotify = now
        observer(snapshot)
    }
}
