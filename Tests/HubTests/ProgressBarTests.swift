import Testing

@testable import Hub

/// The line `colmodernvbert download` draws on a terminal (`ProgressBar.line`), and the choice
/// between the bar and log lines (`ProgressDisplay`).
@Suite struct ProgressBarTests {
    /// 120 MB of 280 MB (42.9%, shown rounded down) at 12.3 MB/s: 160 MB left, 13 s.
    let midway = HubProgress(
        phase: .downloading, model: "org/tiny", completedBytes: 120_000_000, totalBytes: 280_000_000,
        currentFile: "model.safetensors", bytesPerSecond: 12_300_000)
    let fields = " 42%  120.0 MB/280.0 MB  12.3 MB/s  ETA 13s"

    @Test func wideTerminalShowsBarBytesRateEtaAndFile() {
        // 99 columns usable: 43 of fields, 2 + 17 for the file, a bar of at most 30 inside.
        let bar = "[" + String(repeating: "=", count: 12) + ">" + String(repeating: " ", count: 17) + "]"
        #expect(ProgressBar.line(midway, width: 100) == bar + " " + fields + "  model.safetensors")
        #expect(ProgressBar.line(midway, width: 100).count == 95)
    }

    @Test func theBarShrinksToTheWidth() {
        // 79 usable: 79 - 46 - 19 leaves 14 inside the bar; 3/7 of 14 is 6.
        let line80 = ProgressBar.line(midway, width: 80)
        #expect(line80 == "[======>       ] " + fields + "  model.safetensors")
        #expect(line80.count == 79)
    }

    @Test func narrowTerminalsDropTheLabelThenTheBarThenEtaRateAndPercent() {
        // 59 usable: no room for the file beside a 10-wide bar; the bar takes 13.
        #expect(ProgressBar.line(midway, width: 60) == "[=====>       ] " + fields)
        #expect(ProgressBar.line(midway, width: 50) == fields)
        #expect(ProgressBar.line(midway, width: 40) == " 42%  120.0 MB/280.0 MB  12.3 MB/s")
        #expect(ProgressBar.line(midway, width: 30) == " 42%  120.0 MB/280.0 MB")
        #expect(ProgressBar.line(midway, width: 20) == "120.0 MB/280.0 MB")
        #expect(ProgressBar.line(midway, width: 10) == "120.0 MB/")
        #expect(ProgressBar.line(midway, width: 0) == "1")
    }

    @Test func neverWiderThanTheTerminalLessOneColumn() {
        let long = String(repeating: "shard/", count: 30) + "model-00001-of-00002.safetensors"
        let samples = [
            midway,
            HubProgress(phase: .downloading, model: "org/tiny", completedBytes: 5, currentFile: long),
            HubProgress(phase: .downloading, model: "org/tiny", completedBytes: 0, totalBytes: 1 << 40, currentFile: long),
            HubProgress(phase: .ready, model: long, completedBytes: 10, totalBytes: 10, bytesPerSecond: 1e9),
            HubProgress(phase: .failed, model: "org/tiny", completedBytes: 1, totalBytes: 3, currentFile: long),
            HubProgress(phase: .resolving, model: long),
        ]
        for progress in samples {
            for width in 0...200 {
                let line = ProgressBar.line(progress, width: width, elapsed: 3)
                #expect(line.count <= max(width - 1, 1), "width \(width): \(line)")
                #expect(!line.contains("\n") && !line.contains("\r"))
            }
        }
    }

    @Test func longFileNamesKeepTheirEnd() {
        let name = "checkpoints/colmodernvbert/model-00001-of-00002.safetensors"
        var progress = midway
        progress.currentFile = name
        // 99 usable: a 10-wide bar, the fields, and 41 characters of the name.
        let line = ProgressBar.line(progress, width: 100)
        #expect(line == "[====>     ] " + fields + "  ...vbert/model-00001-of-00002.safetensors")
        #expect(line.count == 99)
    }

    @Test func unknownTotalShowsBytesAndRateWithoutBarPercentOrEta() {
        let progress = HubProgress(
            phase: .downloading, model: "org/tiny", completedBytes: 120_000_000, currentFile: "model.safetensors",
            bytesPerSecond: 12_300_000)
        #expect(ProgressBar.line(progress, width: 80) == "120.0 MB  12.3 MB/s  model.safetensors")
        #expect(ProgressBar.line(progress, width: 25) == "120.0 MB  12.3 MB/s")
    }

    @Test func noRateYetShowsDashesNotZero() {
        for rate in [nil, 0, -5, Double.nan, Double.infinity] as [Double?] {
            var progress = midway
            progress.bytesPerSecond = rate
            #expect(ProgressBar.line(progress, width: 50) == " 42%  120.0 MB/280.0 MB  --/s  ETA --", "rate \(String(describing: rate))")
        }
    }

    @Test func etaIsTheRemainingBytesOverTheRate() {
        var progress = midway
        progress.completedBytes = 0
        progress.totalBytes = 3_600_000_000
        progress.bytesPerSecond = 1_000_000
        #expect(ProgressBar.line(progress, width: 60).hasSuffix("  1.0 MB/s  ETA 1h00m"))
        progress.completedBytes = 3_510_000_000
        #expect(ProgressBar.line(progress, width: 60).hasSuffix("  ETA 1m30s"))
        // More on disk than announced: nothing left, not a negative ETA.
        progress.completedBytes = 4_000_000_000
        #expect(ProgressBar.line(progress, width: 60).hasSuffix("  ETA 0s"))
    }

    @Test func finalLines() {
        let ready = HubProgress(
            phase: .ready, model: "org/tiny", completedBytes: 280_000_000, totalBytes: 280_000_000, bytesPerSecond: 11_800_000)
        #expect(
            ProgressBar.line(ready, width: 100, elapsed: 24)
                == "[" + String(repeating: "=", count: 30) + "] 100%  280.0 MB  11.8 MB/s  done in 24s  org/tiny")
        // Narrow: "done" stays when the rate goes.
        #expect(ProgressBar.line(ready, width: 30, elapsed: 24) == "100%  280.0 MB  done in 24s")
        let failed = HubProgress(
            phase: .failed, model: "org/tiny", completedBytes: 120_000_000, totalBytes: 280_000_000, currentFile: "model.safetensors",
            bytesPerSecond: 12_300_000)
        #expect(ProgressBar.line(failed, width: 70) == "[======>         ]  42%  120.0 MB/280.0 MB  failed  model.safetensors")
        #expect(ProgressBar.line(HubProgress(phase: .ready, model: "org/tiny"), width: 80) == "org/tiny ready")
        #expect(ProgressBar.line(HubProgress(phase: .failed, model: "org/tiny"), width: 80) == "org/tiny failed")
        #expect(ProgressBar.line(HubProgress(phase: .resolving, model: "org/tiny"), width: 80) == "resolving org/tiny")
    }

    @Test func barFill() {
        #expect(ProgressBar.bar(0, 10) == "[>         ]")
        #expect(ProgressBar.bar(0.5, 10) == "[=====>    ]")
        #expect(ProgressBar.bar(0.99, 10) == "[=========>]")
        #expect(ProgressBar.bar(1, 10) == "[==========]")
        #expect(ProgressBar.bar(7, 10) == "[==========]")
        #expect(ProgressBar.bar(.nan, 10) == "[>         ]")
    }

    @Test func displayChoice() throws {
        #expect(try ProgressDisplay.choose([:], standardErrorIsTerminal: true) == .bar)
        #expect(try ProgressDisplay.choose([:], standardErrorIsTerminal: false) == .log)
        #expect(try ProgressDisplay.choose(["TERM": "dumb"], standardErrorIsTerminal: true) == .log)
        #expect(try ProgressDisplay.choose(["COLPALI_PROGRESS": " Auto "], standardErrorIsTerminal: true) == .bar)
        #expect(try ProgressDisplay.choose(["COLPALI_PROGRESS": "bar"], standardErrorIsTerminal: false) == .bar)
        #expect(try ProgressDisplay.choose(["COLPALI_PROGRESS": "log"], standardErrorIsTerminal: true) == .log)
        #expect(try ProgressDisplay.choose(["COLPALI_PROGRESS": ""], standardErrorIsTerminal: true) == .bar)
        do {
            _ = try ProgressDisplay.choose(["COLPALI_PROGRESS": "fancy"], standardErrorIsTerminal: true)
            Issue.record("fancy was accepted")
        } catch {
            #expect("\(error)" == "COLPALI_PROGRESS=\"fancy\" is not valid: expected bar, log or auto")
        }
    }
}
