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
        subcommands: [NginxValues.self])
}

/// Everything `scripts/nginx.sh` takes from the service's configuration, in one call: the process
/// loads libtorch, which it links (~0.3 s of CPU idle, seconds on a loaded machine, ~135 MB
/// resident), and two calls once made nginx start after a throttled test download had finished.
/// One `KEY VALUE` line each:
///
///     upstream ADDRESS        the pool: COLPALI_LISTEN (default in COLPALI_RUN_DIR); with
///                             COLPALI_UPSTREAMS one line per listed pool instead
///     overflow ADDRESS        the master's overload answer for the upstream's backup server
///                             (a local unix pool only: a TCP backlog cannot refuse at once)
///     metrics ADDRESS         the master's /metrics socket (none when COLPALI_METRICS_ALLOW is off)
///     metrics-access LINE     COLPALI_METRICS_ALLOW as nginx `allow ...; deny all;` directives
///
/// Addresses are `unix:/absolute/path` (a relative path made absolute against the working
/// directory) or `host:port`. A bad value fails with the parser's message naming the variable.
struct NginxValues: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx",
        abstract: "The pool's, the overload answer's and /metrics' addresses, and the metrics allowlist, for nginx.",
        discussion: """
            Prints KEY VALUE lines: upstream (one per pool), overflow (a local unix pool's overload answer), \
            metrics and metrics-access (absent when COLPALI_METRICS_ALLOW is off).
            """)

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        try Self.lines(environment: environment, workingDirectory: FileManager.default.currentDirectoryPath).forEach { print($0) }
    }

    static func lines(environment: [String: String], workingDirectory: String) throws -> [String] {
        var lines: [String] = []
        if let upstreams = try UpstreamList.fromEnvironment(environment, workingDirectory: workingDirectory) {
            // Pools on other hosts: COLPALI_LISTEN is the local pool's business, and no pool's
            // overload socket is reachable from here.
            lines += upstreams.nginxForms.map { "upstream \($0)" }
        } else {
            let listen = try ServiceConfiguration.listenAddress(fromEnvironment: environment)
            lines.append("upstream \(try nginxForm(listen, workingDirectory: workingDirectory))")
            if let address = try ServiceConfiguration.overloadAddress(fromEnvironment: environment) {
                lines.append("overflow \(try nginxForm(address, workingDirectory: workingDirectory))")
            }
        }
        if let allow = try ServiceConfiguration.metricsAllowList(fromEnvironment: environment),
            let address = try ServiceConfiguration.metricsAddress(fromEnvironment: environment)
        {
            lines.append("metrics \(try nginxForm(address, workingDirectory: workingDirectory))")
            lines.append("metrics-access \(allow.nginxDirectives)")
        }
        return lines
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

struct UpstreamError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
