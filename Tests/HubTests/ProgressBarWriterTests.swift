import Foundation
import Testing

@testable import Hub

/// `ProgressBarWriter` on a pipe, with a clock the test moves: redraws in place, throttling,
/// the final newline, and log lines written above the bar.
@Suite struct ProgressBarWriterTests {
    /// A pipe the writer writes into, and a clock in seconds.
    final class Screen: @unchecked Sendable {
        let lock = NSLock()
        var seconds = 0.0
        let pipe = Pipe()
        lazy var writer = ProgressBarWriter(
            fileDescriptor: pipe.fileHandleForWriting.fileDescriptor, minimumInterval: 0.1, columns: { 100 },
            clock: { [unowned self] in self.lock.withLock { self.seconds } })

        func at(_ time: Double, _ progress: HubProgress) {
            lock.withLock { seconds = time }
            writer.show(progress)
        }

        /// Everything written, once the writer is done.
        func output() throws -> String {
            try pipe.fileHandleForWriting.close()
            return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
    }

    static let clear = "\u{1B}[K"

    func downloading(_ completed: Int64, rate: Double? = 100_000) -> HubProgress {
        HubProgress(
            phase: .downloading, model: "org/tiny", completedBytes: completed, totalBytes: 1_000_000, currentFile: "model.safetensors",
            bytesPerSecond: rate)
    }

    @Test func redrawsInPlaceAtMostTenTimesASecondAndEndsWithANewline() throws {
        let screen = Screen()
        screen.at(0, HubProgress(phase: .resolving, model: "org/tiny"))
        screen.at(0.02, downloading(0, rate: nil))  // within 0.1 s of the last draw: skipped
        screen.at(0.15, downloading(100_000))
        screen.at(0.2, downloading(150_000))  // skipped
        screen.at(0.3, downloading(300_000))
        screen.at(0.35, downloading(350_000))  // skipped
        screen.at(2.15, HubProgress(phase: .ready, model: "org/tiny"))
        let text = try screen.output()

        let draws = text.split(separator: "\r", omittingEmptySubsequences: true).map(String.init)
        #expect(draws.count == 4, "\(draws)")
        #expect(draws[0] == "resolving org/tiny" + Self.clear)
        #expect(draws[1] == ProgressBar.line(downloading(100_000), width: 100) + Self.clear)
        #expect(draws[1].contains("100.0 KB/1.0 MB  100.0 KB/s  ETA 9s  model.safetensors"))
        #expect(draws[2].contains(" 30%  300.0 KB/1.0 MB  100.0 KB/s  ETA 7s"))
        // The final line: all of it, at the average rate since the first download update
        // (1 MB in 2.13 s), and the newline that leaves it on the screen.
        #expect(
            draws[3] == "[" + String(repeating: "=", count: 30) + "] 100%  1.0 MB  469.5 KB/s  done in 2s  org/tiny" + Self.clear + "\n")
        #expect(text.filter { $0 == "\n" }.count == 1, "only the final line ends one: \(text.debugDescription)")
    }

    @Test func aFailureEndsTheLineWhereItStopped() throws {
        let screen = Screen()
        screen.at(0, downloading(250_000))
        screen.at(1, HubProgress(phase: .failed, model: "org/tiny"))
        let text = try screen.output()
        #expect(text.hasSuffix("  25%  250.0 KB/1.0 MB  failed  model.safetensors" + Self.clear + "\n"), "\(text.debugDescription)")
    }

    @Test func logLinesGoAboveTheBarWhichIsRedrawnUnderThem() throws {
        let screen = Screen()
        screen.writer.printAbove("before any bar")
        screen.at(0, downloading(500_000))
        let bar = ProgressBar.line(downloading(500_000), width: 100)
        var stream = screen.writer.logStream
        stream.write("2026-12-01T10:00:00+0000 warning colmodernvbert.download: [Hub] model.safetensors: HTTP 503; retrying in 1s\n")
        screen.at(1, HubProgress(phase: .ready, model: "org/tiny"))
        screen.writer.printAbove("after the bar")
        let text = try screen.output()
        let expected =
            "before any bar\n" + "\r" + bar + Self.clear
            + "\r" + Self.clear
            + "2026-12-01T10:00:00+0000 warning colmodernvbert.download: [Hub] model.safetensors: HTTP 503; retrying in 1s\n"
            + bar + Self.clear
        #expect(text.hasPrefix(expected), "\(text.debugDescription)")
        #expect(text.hasSuffix(Self.clear + "\nafter the bar\n"), "\(text.debugDescription)")
    }

    @Test func aLogLineRedrawsTheNewestUpdateEvenIfItWasThrottled() throws {
        let screen = Screen()
        screen.at(0, downloading(500_000))
        screen.at(0.05, downloading(600_000))  // throttled
        screen.writer.printAbove("note")
        let text = try screen.output()
        #expect(text.hasSuffix("note\n" + ProgressBar.line(downloading(600_000), width: 100) + Self.clear), "\(text.debugDescription)")
    }

    @Test func aCachedModelGetsOneReadyLine() throws {
        let screen = Screen()
        screen.at(0, HubProgress(phase: .resolving, model: "org/tiny"))
        screen.at(0.01, HubProgress(phase: .ready, model: "org/tiny"))
        #expect(try screen.output() == "\rresolving org/tiny" + Self.clear + "\rorg/tiny ready" + Self.clear + "\n")
    }

    @Test func terminalWidthDefaultsTo80OffATerminal() {
        let pipe = Pipe()
        #expect(ProgressBarWriter.terminalColumns(pipe.fileHandleForWriting.fileDescriptor) == 80)
        #expect(ProgressBarWriter.terminalColumns(-1) == ProgressBar.defaultWidth)
    }
}
