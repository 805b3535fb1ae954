import Foundation
import Glibc
import Testing

/// Where the things the end-to-end tests drive live.
enum Paths {
    /// Repository root: three levels up from Tests/IntegrationTests/Paths.swift.
    static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let fixtures = "\(root)/Tests/Fixtures/service"
    static let tinyModel = "\(root)/Tests/Fixtures/tiny-model"
    static let nginxScript = "\(root)/scripts/nginx.sh"
    static let mockHub = "\(root)/scripts/mock_hub.py"

    /// The service binary: `COLPALI_TEST_BINARY`, else `.build/debug/colmodernvbert`.
    static func binary() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["COLPALI_TEST_BINARY"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(root)/.build/debug/colmodernvbert"
        try #require(
            access(path, X_OK) == 0,
            "the service binary \(path) is missing: run `swift build` first, or set COLPALI_TEST_BINARY to a built colmodernvbert")
        return path
    }

    /// A Python 3 for the mock hub (stdlib only): `COLPALI_TEST_PYTHON`, else python3.
    static func python() throws -> String {
        let configured = ProcessInfo.processInfo.environment["COLPALI_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
        let candidates = [configured, "\(root)/.deps/venv/bin/python", "/usr/bin/python3"].compactMap { $0 }
        let found = candidates.first { access($0, X_OK) == 0 }
        return try #require(found, "a Python interpreter for scripts/mock_hub.py (tried \(candidates))")
    }

    static func fixture(_ relative: String) -> String { "\(fixtures)/\(relative)" }
}

/// A private temporary directory with a short path (unix socket paths are limited to 107 bytes),
/// removed when the last reference goes.
final class TestDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/itg.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(made.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
        // Traversable, so nginx started as root may run its workers as nobody (as in production).
        chmod(path, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func makeFolder(_ name: String) -> String {
        let folder = file(name)
        mkdir(folder, 0o755)
        // Explicitly: mkdir's mode is cut by the umask, which is the whole test process's (a
        // POSIX test narrows it for a moment) and which nginx.sh's traversal check depends on.
        chmod(folder, 0o755)
        return folder
    }
}
