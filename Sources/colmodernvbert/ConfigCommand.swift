import ArgumentParser
import EmbeddingService
import Foundation
import POSIX

/// `colmodernvbert config ...`: configuration values for the scripts, computed by the same
/// code the service runs (so `scripts/nginx.sh` never parses `COLPALI_LISTEN` itself).
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print configuration values the scripts need (from the environment, as `serve` reads it).",
        subcommands: [Upstream.self, MetricsLocation.self])
}

/// The pool's socket in nginx's `upstream { server ...; }` form. Reads only COLPALI_UPSTREAMS,
/// COLPALI_RUN_DIR and COLPALI_LISTEN. (The process still loads libtorch, which it links: measured ~0.3 s of
/// CPU and ~135 MB resident per call on the development machine; nginx.sh calls it once.)
struct Upstream: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The pool's socket (COLPALI_LISTEN, default in COLPALI_RUN_DIR) as nginx's upstream wants it.",
        discussion: """
            Prints unix:/absolute/path.sock (a relative path made absolute against the working directory) or host:port. \
            With --overflow, a second line names the master's overload answer (503 beyond the bounded queue) for the \
            upstream's backup server, when the pool is a unix socket (a TCP backlog cannot refuse at once). \
            When COLPALI_UPSTREAMS lists pools (on other hosts), prints each of them, one a line, and nothing else: \
            COLPALI_LISTEN is then the local pool's business, and no pool's overload socket is reachable from here.
            """)

    @Flag(help: "Also print the overload answer's socket (unix pools only) on a second line.")
    var overflow = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let workingDirectory = FileManager.default.currentDirectoryPath
        if let upstreams = try UpstreamList.fromEnvironment(environment, workingDirectory: workingDirectory) {
            upstreams.nginxForms.forEach { print($0) }
            return
        }
        let listen = try ServiceConfiguration.listenAddress(fromEnvironment: environment)
        print(try Self.nginxForm(listen, workingDirectory: workingDirectory))
        // One call for both (each loads libtorch: ~0.3 s, measured), so nginx starts no later.
        if overflow, let address = try ServiceConfiguration.overloadAddress(fromEnvironment: environment) {
            print(try Self.nginxForm(address, workingDirectory: workingDirectory))
        }
    }

    /// `unix:/abs` or `host:port` (`[v6]:port`); an inherited descriptor is no address nginx can use.
    static func nginxForm(_ listen: ListenAddress, workingDirectory: String) throws -> String {
        switch listen.resolvingRelativePath(against: workingDirectory) {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return ListenAddress.tcp(host: host, port: port).description
        case .inherited:
            throw UpstreamError(message: "COLPALI_LISTEN=\(listen) is an inherited descriptor; nginx needs unix:/path or host:port")
        }
    }
}

/// `/metrics` for nginx (issue 13): the master's metrics socket on the first line and the
/// allowlist as nginx access directives on the second; nothing when COLPALI_METRICS_ALLOW is
/// off. A command of its own rather than a third line of `upstream` (whose second line is
/// optional): nginx.sh reads it apart from the pool's upstream. The allowlist is parsed here
/// by the master's own parser, so a bad entry fails nginx.sh naming the variable.
struct MetricsLocation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "The master's /metrics socket and nginx allow/deny lines from COLPALI_METRICS_ALLOW (nothing when off).")

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let allow = try ServiceConfiguration.metricsAllowList(fromEnvironment: environment),
            let address = try ServiceConfiguration.metricsAddress(fromEnvironment: environment)
        else { return }
        print(try Upstream.nginxForm(address, workingDirectory: FileManager.default.currentDirectoryPath))
        print(allow.nginxDirectives)
    }
}

struct UpstreamError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
