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
        subcommands: [Upstream.self, Overflow.self])
}

/// The pool's socket in nginx's `upstream { server ...; }` form. Reads only COLPALI_RUN_DIR
/// and COLPALI_LISTEN. (The process still loads libtorch, which it links: measured ~0.3 s of
/// CPU and ~135 MB resident per call on the development machine; nginx.sh calls it once.)
struct Upstream: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The pool's socket (COLPALI_LISTEN, default in COLPALI_RUN_DIR) as nginx's upstream wants it.",
        discussion: "Prints unix:/absolute/path.sock (a relative path made absolute against the working directory) or host:port.")

    func run() throws {
        let listen = try ServiceConfiguration.listenAddress(fromEnvironment: ProcessInfo.processInfo.environment)
        print(try Self.nginxForm(listen, workingDirectory: FileManager.default.currentDirectoryPath))
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

/// The overflow socket (the master's 503 answer beyond the bounded queue) in nginx's form, for
/// the upstream's `backup` server; prints nothing for a TCP or inherited pool, whose queue
/// cannot refuse at once. Reads only COLPALI_RUN_DIR and COLPALI_LISTEN.
struct Overflow: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The overload answer's socket (in COLPALI_RUN_DIR) as nginx's upstream wants it; nothing for a TCP pool.",
        discussion: "Prints unix:/absolute/path.sock when COLPALI_LISTEN is a unix socket (the default), else nothing.")

    func run() throws {
        guard let address = try ServiceConfiguration.overloadAddress(fromEnvironment: ProcessInfo.processInfo.environment)
        else { return }
        print(try Upstream.nginxForm(address, workingDirectory: FileManager.default.currentDirectoryPath))
    }
}

struct UpstreamError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
