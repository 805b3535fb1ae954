import Foundation
import Logging
import Testing

@testable import Hub

/// Paths and small utilities shared by the Hub tests.
enum TestPaths {
    /// Repository root: three levels up from Tests/HubTests/Support/<file>.swift, plus one.
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let mockHubScript = repoRoot.appendingPathComponent("scripts/mock_hub.py")

    /// The reference Python (with huggingface_hub): COLPALI_TEST_PYTHON as scripts/test.sh
    /// sets it, else .deps/venv, else the system python3 (enough for the stdlib-only
    /// mock hub; the interop tests then fail saying huggingface_hub is missing).
    static var python: String {
        if let configured = ProcessInfo.processInfo.environment["COLPALI_TEST_PYTHON"],
            FileManager.default.isExecutableFile(atPath: configured)
        {
            return configured
        }
        let venv = repoRoot.appendingPathComponent(".deps/venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
    }
}

/// A temporary folder removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("hubtests-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ component: String) -> URL { url.appendingPathComponent(component) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Collects log lines (through a swift-log handler) and progress updates from a
/// client (from any thread).
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []
    private var updates: [HubProgress] = []

    var logger: Logger { Logger(label: "hubtests") { _ in Handler(recorder: self) } }
    var observer: HubProgressObserver { { progress in self.lock.withLock { self.updates.append(progress) } } }

    var logLines: [String] { lock.withLock { lines.map(\.message) } }
    var warnings: [String] { lock.withLock { lines.filter { $0.level == .warning }.map(\.message) } }
    var metadata: [Logger.Metadata] { lock.withLock { lines.map(\.metadata) } }
    var progress: [HubProgress] { lock.withLock { updates } }

    fileprivate func record(_ event: LogEvent, _ metadata: Logger.Metadata) {
        lock.withLock { lines.append((event.level, event.message.description, metadata)) }
    }

    private struct Handler: LogHandler {
        let recorder: Recorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.record(event, metadata.merging(event.metadata ?? [:]) { $1 })
        }
    }
}

/// Runs a program to completion with a time limit; returns (status, stdout, stderr).
@discardableResult
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 60)
    throws -> (Int32, String, String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        throw TestFailure("\(executable) \(arguments) ran longer than \(timeout)s")
    }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A configuration for tests: fast retries, small thresholds, the given cache.
func testConfiguration(endpoint: String, cache: URL, token: String? = nil, offline: Bool = false) -> HubConfiguration {
    HubConfiguration(
        endpoint: endpoint, cacheDirectory: cache, token: token, offline: offline,
        retry: RetryPolicy(maxAttempts: 4, initialDelay: 0.02, maxDelay: 0.1),
        connectTimeout: 5, metadataTimeout: 10, stallTimeout: 10,
        largeFileThreshold: 1_000_000, progressLogInterval: 0.05, lockPollInterval: 0.02)
}

/// Files of a snapshot folder (following symlinks) and their bytes.
func readSnapshot(_ folder: URL) throws -> [String: Data] {
    var result: [String: Data] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else { return result }
    for case let relative as String in enumerator {
        let url = folder.appendingPathComponent(relative)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
        else { continue }
        result[relative] = try Data(contentsOf: url)
    }
    return result
}
