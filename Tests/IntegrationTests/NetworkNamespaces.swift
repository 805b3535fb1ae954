import Foundation
import Glibc
import ProcessTestSupport
import Synchronization
import Testing

/// Hosts for multi-host tests: network namespaces made with iproute2 (`ip netns`), joined by
/// point-to-point veth pairs with private addresses, all inside namespaces the test made (this
/// host's own namespace gains no interface or address). `close()` deletes them (and with them
/// their interfaces); call it in a `defer` after stopping the processes run inside.
final class NetworkNamespaces: Sendable {
    /// `ip` from iproute2, where it is installed.
    static let ipTool: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { access($0, X_OK) == 0 }

    /// Whether namespaces can be made here: iproute2 installed and root (or CAP_NET_ADMIN and
    /// CAP_SYS_ADMIN, which `ip netns add` needs to mount the namespace). Probed by making one.
    static let canCreate: Bool = {
        guard let ip = ipTool else { return false }
        let name = "mhprobe\(getpid())"
        guard runSynchronously([ip, "netns", "add", name]) == 0 else { return false }
        _ = runSynchronously([ip, "netns", "del", name])
        return true
    }()

    /// Why `canCreate` is false, for the skip message.
    static let unavailableReason =
        "network namespaces cannot be made here (needs iproute2's `ip` and root or CAP_NET_ADMIN + CAP_SYS_ADMIN): multi-host test skipped"

    private let ip: String
    private let prefix: String
    private let logDirectory: String
    private let made = Mutex<[String]>([])

    /// `logDirectory`: where the `ip` commands' output goes.
    init(logDirectory: String) throws {
        ip = try #require(Self.ipTool, "iproute2's ip")
        self.logDirectory = logDirectory
        // Unique per process and instance: tests (and runs) side by side never share a name.
        prefix = "mh\(getpid())x\(UInt16.random(in: 0...UInt16.max))"
    }

    /// A new namespace with its loopback up; returns its name.
    func host(_ role: String) async throws -> String {
        let name = "\(prefix)\(role)"
        try await ip(["netns", "add", name])
        made.withLock { $0.append(name) }
        try await ip(["-n", name, "link", "set", "lo", "up"])
        return name
    }

    /// A veth pair between two namespaces, `first` side named `firstInterface` with
    /// `firstAddress` (CIDR), the other likewise, both up.
    func link(
        _ first: String, _ firstInterface: String, _ firstAddress: String,
        _ second: String, _ secondInterface: String, _ secondAddress: String
    ) async throws {
        try await ip(["-n", first, "link", "add", firstInterface, "type", "veth", "peer", "name", secondInterface, "netns", second])
        try await ip(["-n", first, "addr", "add", firstAddress, "dev", firstInterface])
        try await ip(["-n", second, "addr", "add", secondAddress, "dev", secondInterface])
        try await ip(["-n", first, "link", "set", firstInterface, "up"])
        try await ip(["-n", second, "link", "set", secondInterface, "up"])
    }

    /// The command prefix that runs a program inside `namespace` (`ip netns exec` execs in
    /// place, so the spawned pid is the program's).
    func launcher(_ namespace: String) -> [String] { [ip, "netns", "exec", namespace] }

    /// Deletes every namespace made (blocking, bounded); safe to call twice.
    func close() {
        let names = made.withLock { names in
            defer { names.removeAll() }
            return names
        }
        for name in names { _ = Self.runSynchronously([ip, "netns", "del", name]) }
    }

    deinit { close() }

    private func ip(_ arguments: [String]) async throws {
        let (status, output) = try await ChildProcess.run([ip] + arguments, environment: [:], logDirectory: logDirectory, timeout: 20)
        guard status == "exit 0" else { throw NamespaceCommandFailed(command: ([ip] + arguments).joined(separator: " "), output: output) }
    }

    /// Exit status of a short command run to completion (for the probe and cleanup, which
    /// cannot await); -1 when it could not start.
    private static func runSynchronously(_ argv: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct NamespaceCommandFailed: Error, CustomStringConvertible {
    let command: String
    let output: String
    var description: String { "\(command) failed: \(output)" }
}
