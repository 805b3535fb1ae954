import FastCGI
import Foundation
import Hub
import Logging
import WorkerPool

/// A worker process: accepts FastCGI requests on the inherited socket from its first
/// moment (answering 503 while the model is not ready), waits for the master to have the
/// model on disk, loads it, then serves. SIGTERM drains in-flight requests and exits.
public struct Worker: Sendable {
    public let configuration: ServiceConfiguration
    public let environment: [String: String]
    let logger: Logger

    public init(configuration: ServiceConfiguration, environment: [String: String], logger: Logger) {
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
    }

    /// Serves until SIGTERM/SIGINT (or the master's death); returns the exit status.
    public func run() throws -> Int32 {
        let channel = WorkerChannel(environment: environment)
        let name = channel?.slot.map { "worker \($0)" } ?? "worker"
        let state = ServiceState(.loading(detail: "waiting for the model"))
        let socket: ListenSocket
        do {
            socket = try ListenSocket.inherit()
        } catch {
            // Run by hand: bind the configured address ourselves.
            socket = try ListenSocket.bind(try FastCGI.ListenAddress(parsing: configuration.listen))
        }

        let logger = self.logger
        let routes = Routes(
            state: state,
            limits: RequestLimits(
                maxQueries: configuration.maxQueriesPerRequest, maxImages: configuration.maxImagesPerRequest,
                maxBodyBytes: configuration.maxRequestBytes),
            apiVersion: configuration.apiVersion,
            swaggerUIDirectory: SwaggerUI.locate(environment: environment))
        let router = routes.router { error, request in
            logger.error("\(request.method.rawValue) \(request.path) failed: \(error)")
        }
        let pid = getpid()
        let server = try FastCGIServer(
            socket: socket, handler: router,
            configuration: FastCGIServerConfiguration(
                acceptThreads: configuration.requestsPerWorker, maxBodyBytes: configuration.maxRequestBytes,
                onRequest: { record in
                    logger.info(
                        "\(record.method) \(record.path) \(record.status) \(record.responseBytes)B \(String(format: "%.1f", record.seconds * 1000))ms \(name) pid=\(pid)\(record.delivered ? "" : " (client gone)")"
                    )
                },
                onError: { message in logger.warning("\(message)") }))

        let stopSignals = SignalTrap([SIGTERM, SIGINT]) { _ in server.stop() }
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
            guard prepare(state: state, status: status, underMaster: channel != nil, name: name) else { return 1 }
            try server.start()
            logger.info("\(name) (pid \(pid)) accepting on \(socket.address) with \(configuration.requestsPerWorker) request slots")
            try channel?.announceReady()
        } else {
            try server.start()
            logger.info(
                "\(name) (pid \(pid)) accepting on \(socket.address) with \(configuration.requestsPerWorker) request slots (503 until the model is ready)"
            )
            let loader = Thread {
                if prepare(state: state, status: status, underMaster: true, name: name) {
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
        stopSignals.cancel()
        if case .failed = state.readiness { return 1 }
        logger.info("\(name) (pid \(pid)) stopped after \(server.served) requests")
        return 0
    }

    /// Waits for the master's warm-up, loads the model and marks the worker ready.
    /// Returns false when the model cannot be loaded (the worker then exits non-zero so
    /// the master notices a crash loop instead of a pool answering 503 forever).
    private func prepare(state: ServiceState, status: StateFile, underMaster: Bool, name: String) -> Bool {
        if underMaster {
            // Under a master: follow its warm-up status until the model is on disk.
            while true {
                let current = try? status.read(WarmupStatus.self)
                switch current?.phase {
                case .ready?: break
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
            let hub = HubClient(configuration: HubConfiguration.fromEnvironment(environment))
            let directory =
                try hub.cachedModel(id: configuration.modelID, revision: configuration.modelRevision)
                ?? hub.ensureModel(id: configuration.modelID, revision: configuration.modelRevision)
            state.set(.loading(detail: "loading \(configuration.modelID)"))
            let started = Date()
            let engine = try ModelEngine(directory: directory, modelID: configuration.modelID, configuration: configuration)
            state.set(.ready(engine))
            logger.info(
                "\(name): model ready in \(String(format: "%.1f", Date().timeIntervalSince(started)))s (\(engine.info.device), \(engine.info.precision), dim \(engine.info.dim))"
            )
            return true
        } catch {
            logger.critical("\(name): cannot load the model: \(error)")
            state.set(.failed(detail: "\(error)"))
            return false
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
