import Foundation
import ProcessTestSupport
import Testing

/// Issue 13 item 6: `colmodernvbert download` draws a progress bar when stderr is a terminal
/// and writes plain log lines otherwise. The built binary fetches the tiny model from the mock
/// hub, its weights throttled to about 2.5 s, once with stderr on a pseudo-terminal 100 columns
/// wide and once on a pipe.
@Suite(.timeLimit(.minutes(3)))
struct DownloadProgressTests {
    static let clear = "\u{1B}[K"
    static let width = 100

    /// Runs argv[3:] with stderr on a pseudo-terminal ("pty", `width` columns, no newline
    /// translation, so the bytes are the program's own) or a pipe ("pipe"), copying stderr to
    /// argv[2] and stdout to argv[2].stdout; exits with the program's status.
    static let helper = """
        import fcntl, os, pty, struct, subprocess, sys, termios
        mode, capture, width, argv = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
        with open(capture + ".stdout", "wb") as out:
            if mode == "pty":
                master, slave = pty.openpty()
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
                attributes = termios.tcgetattr(slave)
                attributes[1] &= ~termios.OPOST
                termios.tcsetattr(slave, termios.TCSANOW, attributes)
                child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=slave)
                os.close(slave)
                data = b""
                while True:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: every end of the terminal is closed
                        break
                    if not chunk:
                        break
                    data += chunk
                status = child.wait()
            else:
                child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE)
                data = child.communicate()[1]
                status = child.returncode
        with open(capture, "wb") as f:
            f.write(data)
        sys.exit(status)
        """

    struct Run {
        let status: String
        let stderr: String
        let stdout: String
    }

    /// `download` of org/tiny into an empty HF_HOME of its own.
    func download(_ mode: String, hub: MockHub, directory: TestDirectory, name: String, extra: [String: String] = [:]) async throws -> Run {
        let capture = directory.file("\(name).stderr")
        let environment = [
            "PATH": "/usr/bin:/bin", "TERM": "xterm", "HF_HOME": directory.file("\(name)-hf-home"),
            "HF_ENDPOINT": "http://127.0.0.1:\(hub.port)", "COLPALI_MODEL_ID": "org/tiny",
        ].merging(extra) { $1 }
        let child = try ChildProcess(
            [try Paths.python(), "-c", Self.helper, mode, capture, "\(Self.width)", try Paths.binary(), "download"],
            environment: environment, logPath: directory.file("\(name).log"))
        defer { child.terminate() }
        let status = try await child.waitForExit(timeout: 60)
        let stderr = (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
        let stdout = (try? String(contentsOfFile: capture + ".stdout", encoding: .utf8)) ?? ""
        #expect(status == "exit 0", "\(name): \(status)\n\(child.log)\n\(stderr.debugDescription)")
        let snapshot = directory.file("\(name)-hf-home/hub/models--org--tiny/snapshots/")
        #expect(stdout.hasPrefix(snapshot) && stdout.hasSuffix("\n"), "\(name): stdout names the snapshot: \(stdout)")
        #expect(FileManager.default.fileExists(atPath: stdout.trimmingCharacters(in: .newlines) + "/model.safetensors"))
        return Run(status: status, stderr: stderr, stdout: stdout)
    }

    func startHub(_ directory: TestDirectory) async throws -> MockHub {
        // 762 KB of weights at 300 KB/s: about 2.5 s, a dozen updates of the bar.
        try await MockHub(
            directory: directory,
            repos: ["org/tiny": ["dir": Paths.tinyModel, "faults": ["model.safetensors": ["throttle": 300_000]]]])
    }

    /// The lines drawn: the text between carriage returns, without clear-to-end-of-line.
    func draws(_ text: String) -> [String] {
        text.split(separator: "\r").map { String($0) }.filter { !$0.isEmpty }
    }

    @Test func aTerminalGetsABarRedrawnInPlaceWithBytesRateAndEta() async throws {
        let directory = try TestDirectory()
        let hub = try await startHub(directory)
        defer { hub.process.terminate() }
        let run = try await download("pty", hub: hub, directory: directory, name: "tty")
        let text = run.stderr
        let drawn = draws(text)
        report("download on a terminal: \(drawn.count) draws; last: \(drawn.last?.debugDescription ?? "-")")

        // Each draw is `\r`, one line fitted to 99 columns, and clear-to-end-of-line.
        #expect(drawn.count >= 4, "\(text.debugDescription)")
        for line in drawn {
            let final = line.hasSuffix(Self.clear + "\n")
            let body = line.dropLast(Self.clear.count + (final ? 1 : 0))
            #expect(final || line.hasSuffix(Self.clear), "\(line.debugDescription)")
            #expect(!body.contains(Self.clear) && !body.contains("\n"), "one line per draw: \(line.debugDescription)")
            #expect(body.count < Self.width, "fits \(Self.width) columns: \(body.count): \(body)")
        }
        // While the weights come: a bar, the bytes of the total, a rate and an ETA.
        let midway = drawn.filter { $0.contains("model.safetensors") && $0.contains("KB/s") }
        #expect(midway.count >= 3, "bars with a rate while the weights download: \(drawn)")
        let pattern = #/^\[=*>? *\] +\d+%  \d+(\.\d)? (B|KB|MB)/\d+\.\d (KB|MB)  \d+\.\d (KB|MB)/s  ETA \d+s  model\.safetensors\u{1B}\[K$/#
        #expect(midway.contains { (try? pattern.wholeMatch(in: $0)) != nil }, "a full bar line: \(midway)")
        let percents = midway.compactMap { line in line.firstMatch(of: #/(\d+)%/#).flatMap { Int($0.1) } }
        #expect(percents == percents.sorted() && Set(percents).count >= 2, "the bar advances: \(percents)")
        // It ends with the completed line and a newline, and nothing follows it.
        let last = try #require(drawn.last)
        #expect(last.hasSuffix(Self.clear + "\n"), "\(last.debugDescription)")
        #expect(last.hasPrefix("[" + String(repeating: "=", count: 30) + "] 100%  "), "\(last)")
        #expect(last.contains(#/KB  \d+\.\d (KB|MB)/s  done in \d+s  org/tiny/#), "\(last)")
        #expect(text.filter { $0 == "\n" }.count == 1, "no log lines between the draws: \(text.debugDescription)")
        #expect(!text.contains("Fetching"))
    }

    @Test func logLinesOnATerminalGoAboveTheBar() async throws {
        let directory = try TestDirectory()
        let hub = try await startHub(directory)
        defer { hub.process.terminate() }
        let run = try await download("pty", hub: hub, directory: directory, name: "tty-debug", extra: ["COLPALI_LOG_LEVEL": "debug"])
        let text = run.stderr
        // With the level asked for, the log lines are there, each on a cleared line of its own,
        // and the bar is drawn again under it.
        let fetching = try #require(
            text.firstRange(
                of: #/\r\u{1B}\[K[^\r\n]* debug colmodernvbert.download: [^\r\n]*\[Hub\] Downloading model\.safetensors \(762\.4 KB\)\n\[/#)
        )
        #expect(!fetching.isEmpty)
        // Each `\r` segment with a log line is: clear, the line, a newline, the bar drawn again.
        let withLogs = draws(text).filter { $0.contains("colmodernvbert.download:") }
        #expect(withLogs.count >= 3, "\(text.debugDescription)")
        for segment in withLogs {
            let parts = segment.dropFirst(Self.clear.count).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            #expect(segment.hasPrefix(Self.clear) && parts.count == 2, "a log line on a cleared line: \(segment.debugDescription)")
            #expect(parts.first?.contains(#/^\S+ (debug|info) colmodernvbert\.download: /#) == true, "\(segment.debugDescription)")
            #expect(
                parts.count == 2 && parts[1].hasSuffix(Self.clear) && !parts[1].contains("colmodernvbert"), "\(segment.debugDescription)")
        }
        #expect(draws(text).last?.contains("100%") == true && text.hasSuffix(Self.clear + "\n"), "\(text.suffix(300).debugDescription)")
    }

    @Test func aPipeGetsPlainLogLinesAndNoBar() async throws {
        let directory = try TestDirectory()
        let hub = try await startHub(directory)
        defer { hub.process.terminate() }
        let run = try await download("pipe", hub: hub, directory: directory, name: "pipe", extra: ["COLPALI_LOG_LEVEL": "debug"])
        let text = run.stderr
        report("download on a pipe: \(text.split(separator: "\n").count) log lines")
        #expect(!text.contains("\r") && !text.contains("\u{1B}"), "no bar: \(text.debugDescription)")
        #expect(text.contains(#/ info colmodernvbert.download: hub.repo=org/tiny \[Hub\] Fetching \d+ file\(s\) of org/tiny, /#), "\(text)")
        #expect(
            text.contains(#/ debug colmodernvbert.download: hub.repo=org/tiny \[Hub\] Downloading model\.safetensors \(762\.4 KB\)\n/#),
            "\(text)")
        #expect(text.contains(#/ Downloaded model\.safetensors \(762\.4 KB\) in \d+s, \d+\.\d KB/s\n/#), "\(text)")
        for line in text.split(separator: "\n") {
            #expect(
                line.contains(#/^\S+ (trace|debug|info|notice|warning|error|critical) colmodernvbert\.download: /#), "a log line: \(line)")
        }
    }
}
