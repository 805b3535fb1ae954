import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// One private instance of the product: `colmodernvbert serve` (the master and its workers)
/// and, unless turned off, nginx in front of it (scripts/nginx.sh run), on free loopback
/// ports with its own run directory, so tests can run side by side.
final class ServiceInstance: Sendable {
    let directory: TestDirectory
    let environment: [String: String]
    let workers: Int
    let master: ChildProcess
    let nginx: ChildProcess?
    let httpsPort: Int?
    let httpPort: Int?

    var socketPath: String { String((environment["COLPALI_LISTEN"] ?? "").dropFirst("unix:".count)) }
    /// Clients for nginx's ports (port 0, which refuses connections, when that port is off).
    var https: HTTPClient { HTTPClient(baseURL: "https://127.0.0.1:\(httpsPort ?? 0)", directory: directory) }
    var http: HTTPClient { HTTPClient(baseURL: "http://127.0.0.1:\(httpPort ?? 0)", directory: directory) }
    /// The master's log (the workers log to the same stream).
    var log: String { master.log }
    var nginxLog: String { nginx?.log ?? "" }

    /// The environment a test instance starts from: the caller's, without any service or hub
    /// settings that could leak in, plus a private run directory and loopback ports.
    static func baseEnvironment(directory: TestDirectory, workers: Int, https: Bool, http: Bool) throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("COLPALI_") && !$0.key.hasPrefix("HF_") && !$0.key.hasPrefix("HUGGING")
        }
        let run = directory.makeFolder("run")
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        environment["COLPALI_RUN_DIR"] = run
        environment["COLPALI_LISTEN"] = "unix:\(run)/pool.sock"
        environment["COLPALI_MODEL_ID"] = Paths.tinyModel
        environment["COLPALI_WORKERS"] = String(workers)
        environment["CPU_THREADS"] = "1"
        environment["HF_HOME"] = directory.file("hf-home")
        environment["COLPALI_BIND_ADDRESS"] = "127.0.0.1"
        environment["COLPALI_HTTPS_PORT"] = https ? String(try freePort()) : "off"
        environment["COLPALI_HTTP_PORT"] = http ? String(try freePort()) : "off"
        environment["COLPALI_RATE_LIMIT"] = "off"
        environment["COLPALI_IMAGE_RATE_LIMIT"] = "off"
        environment["COLPALI_CONN_LIMIT"] = "off"
        environment["COLPALI_NGINX_ACCESS_LOG"] = "off"
        environment["COLPALI_NGINX_WORKERS"] = "1"
        // nginx.sh asks the binary for the upstream address.
        environment["COLPALI_BINARY"] = try Paths.binary()
        // The outputs are compared with the float32 reference; `auto` would run the vision tower in
        // bfloat16 on a CPU with AMX or AVX512_BF16 (issue 14), which the tiny model amplifies.
        environment["COLPALI_DTYPE"] = "float32"
        return environment
    }

    /// Starts the master (and nginx when `withNginx`), then waits until every worker announced
    /// ready and nginx listens (`waitForReady`). `launcher` is prepended to the master's command
    /// line (`ip netns exec NS`, which execs in place: the pid stays the master's); for a pool
    /// without nginx (nginx's readiness is checked on this host's loopback).
    init(
        workers: Int = 2, https: Bool = true, http: Bool = true, withNginx: Bool = true,
        overrides: [String: String] = [:], directory: TestDirectory? = nil, launcher: [String] = []
    ) throws {
        let directory = try directory ?? TestDirectory()
        self.directory = directory
        self.workers = workers
        var environment = try Self.baseEnvironment(
            directory: directory, workers: workers, https: https && withNginx, http: http && withNginx)
        for (key, value) in overrides { environment[key] = value }
        self.environment = environment
        httpsPort = Int(environment["COLPALI_HTTPS_PORT"] ?? "")
        httpPort = Int(environment["COLPALI_HTTP_PORT"] ?? "")
        let binary = try Paths.binary()
        let logIndex = UInt32.random(in: 0...UInt32.max)
        master = try ChildProcess(
            launcher + [binary, "serve"], environment: environment, logPath: directory.file("master-\(logIndex).log"))
        if withNginx {
            do {
                nginx = try ChildProcess(
                    [Paths.nginxScript, "run"], environment: environment, logPath: directory.file("nginx-\(logIndex).log"))
            } catch {
                master.terminate()
                throw error
            }
        } else {
            nginx = nil
        }
    }

    /// Starts an instance and waits until it is ready. A port picked free can be taken by another
    /// suite before nginx binds it; then nginx exits with "Address already in use" and this starts
    /// over with fresh ports (at most three times).
    static func started(
        workers: Int = 2, https: Bool = true, http: Bool = true, withNginx: Bool = true,
        overrides: [String: String] = [:], directory: TestDirectory? = nil, timeout: Double = 60
    ) async throws -> ServiceInstance {
        var attempt = 0
        while true {
            attempt += 1
            let instance = try ServiceInstance(
                workers: workers, https: https, http: http, withNginx: withNginx, overrides: overrides, directory: directory)
            do {
                try await instance.waitForReady(timeout: timeout)
                return instance
            } catch {
                let portTaken = instance.nginxLog.contains("Address already in use")
                instance.terminate()
                if !portTaken || attempt >= 3 { throw error }
            }
        }
    }

    /// Live worker processes: the master's children.
    var workerPIDs: [pid_t] { childProcesses(of: master.pid) }

    /// Worker pids the master logged as ready ("worker N ready: pid P after ...").
    var readyPIDs: Set<pid_t> {
        var pids = Set<pid_t>()
        for line in log.split(separator: "\n") where line.contains(" ready: pid ") {
            guard let range = line.range(of: " ready: pid ") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let pid = pid_t(digits) { pids.insert(pid) }
        }
        return pids
    }

    /// All `workers` live workers announced ready, and nginx accepts connections.
    var isReady: Bool {
        let live = workerPIDs
        let ready = readyPIDs
        return live.count == workers && live.allSatisfy { ready.contains($0) } && nginxListens
    }

    var nginxListens: Bool {
        guard nginx != nil else { return true }
        return [httpsPort, httpPort].compactMap { $0 }.allSatisfy { connectsTCP(port: $0) }
    }

    func waitForReady(timeout: Double = 60) async throws {
        do {
            try await eventually(timeout: timeout, "the service to be ready") {
                if master.hasExited || (nginx?.hasExited ?? false) { throw StartFailed(instance: self) }
                return isReady
            }
        } catch let error as TimedOut {
            throw StartFailed(instance: self, reason: "\(error)")
        }
    }

    /// Graceful stop: SIGTERM to the master (drains the workers), SIGQUIT to nginx. Returns how each ended.
    func stop(timeout: Double = 30) async throws -> (master: String, nginx: String?) {
        master.signal(SIGTERM)
        nginx?.signal(SIGQUIT)
        let masterStatus = try await master.waitForExit(timeout: timeout)
        let nginxStatus = try await nginx?.waitForExit(timeout: timeout)
        return (masterStatus, nginxStatus)
    }

    /// Cleanup for `defer`: stops whatever still runs (blocking, bounded).
    func terminate() {
        let workers = workerPIDs
        nginx?.terminate()
        master.terminate()
        // Workers are in the master's process group, but a replacement spawned late could linger.
        for pid in workers where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }
}

struct StartFailed: Error, CustomStringConvertible {
    let description: String

    init(instance: ServiceInstance, reason: String = "a process exited") {
        description = """
            service did not start (\(reason)); master \(instance.master.statusDescription), \
            nginx \(instance.nginx?.statusDescription ?? "none")
            --- master log ---
            \(instance.log.suffix(4000))
            --- nginx log ---
            \(instance.nginxLog.suffix(2000))
            """
    }
}
