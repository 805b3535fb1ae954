import Glibc
import POSIX

/// Draws `ProgressBar` lines on a terminal: each one redrawn in place (`\r`, the line, then
/// clear-to-end-of-line), at most once per `minimumInterval`, and ended with a newline when the
/// download is ready or has failed. Log lines go above the bar through `printAbove` (or
/// `logStream`, for swift-log's `StreamLogHandler`), so that they never split it.
///
/// Thread-safe: the hub calls the observer from its download thread.
public final class ProgressBarWriter: Sendable {
    private struct State {
        /// The last download update (the final line is drawn from it).
        var last: HubProgress?
        /// When the first download update came, and its byte count (resumed bytes).
        var started: (time: Double, bytes: Int64)?
        var lastDraw: Double?
        /// The newest update not yet final, drawn or not (a throttled one is drawn under the
        /// next log line).
        var latest: HubProgress?
        /// The line now on the screen, without a newline; nil when none is.
        var onScreen: String?
    }

    private let fileDescriptor: Int32
    private let minimumInterval: Double
    private let columns: @Sendable () -> Int
    /// Monotonic seconds.
    private let clock: @Sendable () -> Double
    private let state = Locked(State())

    /// Clear to the end of the line (ECMA-48 EL, "erase in line").
    static let clearToEnd = "\u{1B}[K"

    /// `columns` defaults to the terminal's width on `fileDescriptor` (asked at each draw, so a
    /// resized window is followed). 10 draws a second look continuous and cost nothing.
    public init(
        fileDescriptor: Int32 = STDERR_FILENO, minimumInterval: Double = 0.1, columns: (@Sendable () -> Int)? = nil,
        clock: @escaping @Sendable () -> Double = { MonotonicTime.now().seconds }
    ) {
        self.fileDescriptor = fileDescriptor
        self.minimumInterval = minimumInterval
        self.columns = columns ?? { ProgressBarWriter.terminalColumns(fileDescriptor) }
        self.clock = clock
    }

    /// The hub's observer, drawing each update.
    public var observer: HubProgressObserver { { [self] progress in show(progress) } }

    /// Draws `progress` (throttled while downloading; final updates always, with a newline).
    public func show(_ progress: HubProgress) {
        state.withLock { state in
            let now = clock()
            switch progress.phase {
            case .resolving, .downloading:
                if progress.phase == .downloading {
                    if state.started == nil { state.started = (now, progress.completedBytes) }
                    state.last = progress
                }
                state.latest = progress
                if let last = state.lastDraw, now - last < minimumInterval { return }
                state.lastDraw = now
                let line = ProgressBar.line(progress, width: columns())
                state.onScreen = line
                write("\r" + line + Self.clearToEnd)
            case .ready, .failed:
                let (final, elapsed) = Self.finalProgress(progress, state: state, now: now)
                let line = ProgressBar.line(final, width: columns(), elapsed: elapsed)
                state = State()
                write("\r" + line + Self.clearToEnd + "\n")
            }
        }
    }

    /// Writes `text` (a newline is added when it lacks one) on its own line above the bar.
    public func printAbove(_ text: String) {
        let body = text.hasSuffix("\n") ? text : text + "\n"
        state.withLock { state in
            if let shown = state.onScreen {
                let line = state.latest.map { ProgressBar.line($0, width: columns()) } ?? shown
                state.onScreen = line
                write("\r" + Self.clearToEnd + body + line + Self.clearToEnd)
            } else {
                write(body)
            }
        }
    }

    /// A stream for `StreamLogHandler(label:stream:)`: each log line goes above the bar.
    public var logStream: some TextOutputStream & Sendable { LogStream(writer: self) }

    private struct LogStream: TextOutputStream, Sendable {
        let writer: ProgressBarWriter
        mutating func write(_ string: String) { writer.printAbove(string) }
    }

    /// The update the final line shows: a ready one carries no byte counts, so it takes the
    /// last download's, all of it done, at the average rate since the first update.
    private static func finalProgress(_ progress: HubProgress, state: State, now: Double) -> (HubProgress, Double?) {
        guard var final = state.last else { return (progress, nil) }
        final.phase = progress.phase
        let elapsed = state.started.map { now - $0.time }
        if progress.phase == .ready {
            if final.totalBytes > 0 { final.completedBytes = final.totalBytes }
            let moved = final.completedBytes - (state.started?.bytes ?? 0)
            final.bytesPerSecond = elapsed.flatMap { $0 > 0 && moved > 0 ? Double(moved) / $0 : nil }
            final.currentFile = nil
        }
        return (final, elapsed)
    }

    /// The width of the terminal on `fileDescriptor` (TIOCGWINSZ), else `ProgressBar.defaultWidth`.
    public static func terminalColumns(_ fileDescriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return ProgressBar.defaultWidth }
        return Int(size.ws_col)
    }

    /// The whole of `text`, retrying short writes and EINTR; a closed terminal is not an error.
    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(fileDescriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
