import CoreMetrics
import FastCGI
import Foundation
import Logging
import POSIX
import WorkerPool

/// A worker process: accepts FastCGI requests on the inherited socket from its first
/// moment (answering 503 while the model is not ready), waits for the master to have the
/// model on disk, loads it from the directory the master names in the state file, then
/// serves. SIGTERM/SIGINT (through a `SignalRelay`) drain in-flight requests and exit.
public struct Worker: Sendable {
    public let configuration: ServiceConfiguration
    public let environment: [String: String]
    /// The model folder when run by hand (no master); nil under a master, which names it
    /// in the state file once it is on disk.
    public let modelDirectory: URL?
    let logger: Logger

    public init(configuration: ServiceConfiguration, environment: [String: String], modelDirectory: URL? = nil, logger: Logger) {
        self.configuration = configuration
        self.environment = environment
        self.modelDirectory = modelDirectory
        self.logger = logger
    }

    /// Whether this process was spawned by a master (`serve`), which then names the model
    /// directory; a worker run by hand must be given one.
    public static func runsUnderMaster(_ environment: [String: String]) -> Bool {
        WorkerChannel(environment: environment) != nil
    }

    /// Serves until SIGTERM/SIGINT (or the master's death); returns the exit status.
    public func run() throws -> Int32 {
        // Before the accept and model threads exist: their memory must be in the arena that
        // the image routes' trims reach (AllocatorTuning.useOneArena).
        AllocatorTuning.useOneArena()
        let channel = WorkerChannel(environment: environment)
        let name = channel?.slot.map { "worker \($0)" } ?? "worker"
        let state = ServiceState(.loading(detail: "waiting for the model"))
        let socket: ListeningSocket
        do {
            socket = try ListeningSocket.inherit()
        } catch {
            // Run by hand: bind the configured address ourselves.
            socket = try ListeningSocket.bind(configuration.listen, permissions: configuration.socketPermissions)
        }
        defer { socket.close() }

        let pid = getpid()
        // On every line of this worker, the per-request lines of the server included.
        let logger = self.logger.with(metadata: ["worker": "\(name)", "pid": "\(pid)"])
        // Before any metric is made: each observation goes to the master, which keeps the totals.
        if let sendEnd = MetricsChannel.inheritedSendEnd(environment: environment) {
            MetricsSystem.bootstrap(ForwardingMetricsFactory(sink: MetricsDatagramSink(descriptor: sendEnd, pid: pid)))
        }
        let routes = Routes(
            state: state,
            limits: RequestLimits(
                maxQueries: configuration.maxQueriesPerRequest, maxImages: configuration.maxImagesPerRequest,
                maxBodyBytes: configuration.maxRequestBytes, maxQueryBytes: configuration.maxQueryBytes),
            apiVersion: configuration.apiVersion,
            swaggerUIDirectory: SwaggerUI.locate(environment: environment), apiKeys: configuration.apiKeys)
        let router = routes.router { error, request in
            logger.error("\(request.method.rawValue) \(request.path) failed: \(error)")
        }
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: InstrumentedHandler(router),
            configuration: FastCGIServerConfiguration(
                acceptThreads: configuration.requestsPerWorker, maxBodyBytes: configuration.maxRequestBytes),
            logger: logger)

        // Installed before anything slow (loading), so a SIGTERM at any moment is kept and
        // drains the server as soon as it runs. The waiting thread holds the relay until the
        // process exits.
        let stopSignals = try SignalRelay.install([SIGTERM, SIGINT])
        let signalWaiter = Thread {
            let signals = stopSignals.waitForSignals()
            logger.info("\(name): signal \(signals.map { "\($0)" }.joined(separator: ", ")) received; draining")
            server.stop()
        }
        signalWaiter.name = "stop-signals"
        signalWaiter.start()
        channel?.watchMaster {
            logger.warning("\(name): master exited; draining and stopping")
            server.stop()
        }
        // A replacement worker (the model already on disk) loads before it accepts, so it
        // never answers 503 while ready siblings could serve. Only during the first start,
        // while the master downloads, do workers accept early to report the progress.
        let status = StateFile(directory: configuration.runDirectory.path, name: configuration.stateFile.lastPathComponent)
        let modelOnDisk = channel == nil || (try? status.read(WarmupStatus.self))?.isReady == true
        if modelOnDisk {
            guard prepare(state: state, status: status, underMaster: channel != nil, name: name, logger: logger) else { return 1 }
            try server.start()
            logger.info("\(name) (pid \(pid)) accepting on \(socket.address) with \(configuration.requestsPerWorker) request slots")
            try channel?.announceReady()
        } else {
            try server.start()
            logger.info(
                "\(name) (pid \(pid)) accepting on \(socket.address) with \(configuration.requestsPerWorker) request slots (503 until the model is ready)"
            )
            let loader = Thread {
                if prepare(state: state, status: status, underMaster: true, name: name, logger: logger) {
                    do {
                        try channel?.announceReady()
                    } catch {
                        logger.error("\(name): cannot tell the master it is ready: \(error)")
                    }
                } else {
                    server.stop()
                }
            }
            loader.name = "model-loader"
            loader.start()
        }

        server.wait()
        if case .failed = state.readiness { return 1 }
        logger.info("\(name) (pid \(pid)) stopped after \(server.served) requests")
        return 0
    }

    /// Waits for the master's warm-up, loads the model and marks the worker ready.
    /// Returns false when the model cannot be loaded (the worker then exits non-zero so
    /// the master notices a crash loop instead of a pool answering 503 forever).
    private func prepare(state: ServiceState, status: StateFile, underMaster: Bool, name: String, logger: Logger) -> Bool {
        var directory = modelDirectory
        if underMaster {
            // Under a master: follow its warm-up status until the model is on disk.
            while true {
                let current = try? status.read(WarmupStatus.self)
                switch current?.phase {
                case .ready?: directory = current?.modelDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) }
                case .failed?:
                    state.set(.failed(detail: current?.message ?? "model preparation failed"))
                    Thread.sleep(forTimeInterval: 0.5)
                    continue
                case .downloading?:
                    state.set(.downloading(detail: current?.message ?? "downloading model", progress: current?.progress))
                    Thread.sleep(forTimeInterval: 0.25)
                    continue
                default:
                    state.set(.loading(detail: current?.message ?? "waiting for the master to prepare the model"))
                    Thread.sleep(forTimeInterval: 0.25)
                    continue
                }
                break
            }
        }
        do {
            guard let directory else {
                throw WorkerError.noModelDirectory(stateFile: status.path)
            }
            state.set(.loading(detail: "loading \(configuration.modelID)"))
            let started = MonotonicTime.now()
            let engine = try ModelEngine(directory: directory, modelID: configuration.modelID, configuration: configuration)
            state.set(.ready(engine))
            logger.info(
                "\(name): model ready in \(started.elapsedText) (\(engine.info.device), \(engine.info.precision), dim \(engine.info.dim))")
            if let shared = engine.sharedWeights { logger.info("\(name): packed text weights: \(shared)") }
            return true
        } catch {
            logger.critical("\(name): cannot load the model: \(error)")
            state.set(.failed(detail: "\(error)"))
            return false
        }
    }
}

extension Logger {
    /// A copy with `metadata` added.
    fileprivate func with(metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}

/// Why a worker cannot start serving.
enum WorkerError: Error, CustomStringConvertible {
    /// The master said the model is ready but named no directory (a master of an older build).
    case noModelDirectory(stateFile: String)

    var description: String {
        switch self {
        case .noModelDirectory(let path): "\(path) says the model is ready but names no model_directory"
        }
    }
}

/// Where the Swagger UI assets for /docs are: `COLPALI_SWAGGER_UI_DIR`, else the
/// `.deps/swagger-ui` link that scripts/setup.sh makes next to the build.
enum SwaggerUI {
    static func locate(environment: [String: String]) -> URL? {
        var candidates: [URL] = []
        if let configured = environment["COLPALI_SWAGGER_UI_DIR"], !configured.isEmpty {
            candidates.append(URL(fileURLWithPath: configured, isDirectory: true))
        }
        // .build/<config>/colmodernvbert → repository root
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent(".deps/swagger-ui", isDirectory: true))
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("swagger-ui-bundle.js").path)
        }
    }
}
