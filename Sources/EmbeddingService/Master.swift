import Foundation
import Hub
import Logging
import POSIX
import Torch
import WorkerPool

/// The `serve` process: binds the FastCGI socket, spawns and supervises the workers, and
/// makes sure the model is on disk (downloading it at first start) while they answer 503
/// with the progress it publishes in the run directory's state file.
public struct Master: Sendable {
    public let configuration: ServiceConfiguration
    public let environment: [String: String]
    /// The executable to exec for workers (normally this program).
    public let executable: String
    let logger: Logger

    public init(configuration: ServiceConfiguration, environment: [String: String], executable: String, logger: Logger) {
        self.configuration = configuration
        self.environment = environment
        self.executable = executable
        self.logger = logger
    }

    /// Runs until SIGTERM/SIGINT; returns the exit status (non-zero when the model could not
    /// be prepared or the workers crash-looped).
    public func run() throws -> Int32 {
        let config = configuration
        try FileManager.default.createDirectory(at: config.runDirectory, withIntermediateDirectories: true)
        let hubConfiguration = HubConfiguration.fromEnvironment(environment)
        logger.info("ColModernVBert embedding service \(config.apiVersion), libtorch \(Torch.version)")
        logger.info(
            "model \(config.modelID) at revision \(config.modelRevision); cache \(hubConfiguration.cacheDirectory.path)\(hubConfiguration.offline ? " (offline)" : "")"
        )
        logger.info("device \(config.resolvedDevice), dtype \(config.resolvedDType.torchName), \(config.cpuThreads) CPU threads per worker")
        logger.info("CPU budget: \(CPUBudget.current())")
        for warning in config.cpuSplit.warnings { logger.warning("\(warning)") }
        logger.info(
            "\(config.workers) workers × \(config.requestsPerWorker) request slots on \(config.listen); run directory \(config.runDirectory.path)"
        )

        let status = StateFile(directory: config.runDirectory.path, name: config.stateFile.lastPathComponent)
        try status.write(WarmupStatus(phase: .starting, message: "starting"))

        if let warning = config.listenExposureWarning { logger.warning("\(warning)") }
        if case .unix = config.listen { logger.info("socket \(config.socketPermissions)") }
        let listener = try ListeningSocket.bind(
            config.listen, backlog: config.listenBacklog, permissions: config.socketPermissions)
        let overload = try startOverloadResponder()
        defer { overload?.stop() }
        // The pool's metrics (issue 13): workers forward observations over the channel, the
        // master keeps the totals and answers /metrics on its own socket.
        let metrics = PoolMetrics()
        let channel = try MetricsChannel.make()
        let receiver = MetricsReceiver(descriptor: channel.receiveEnd, metrics: metrics)
        receiver.start()
        defer {
            receiver.stop()
            close(channel.sendEnd)
        }
        let metricsResponder = try startMetricsResponder(metrics)
        defer { metricsResponder?.stop() }
        let signals = try SignalRelay.install()
        var workerEnvironment = environment
        workerEnvironment["COLPALI_RUN_DIR"] = config.runDirectory.path
        workerEnvironment[MetricsChannel.descriptorVariable] = String(MetricsChannel.workerDescriptor)
        workerEnvironment.merge(config.cpuSplit.passiveWaitEnvironment(given: environment)) { current, _ in current }
        let supervisor = try Supervisor(
            configuration: SupervisorConfiguration(
                command: WorkerCommand(
                    executable: executable, arguments: ["worker"], environment: workerEnvironment,
                    inheritedDescriptors: [channel.sendEnd]),
                workerCount: config.workers),
            listener: listener, logger: logger,
            observer: { event in
                metrics.observe(event)
                // A draining pool is not overloaded: nginx answers its own 502, as for the pool socket.
                if case .stopping = event { overload?.refuseNewConnections() }
            })

        let outcome = WarmupOutcome()
        let warmup = Thread {
            let failed = !prepareModel(
                hub: HubClient(configuration: hubConfiguration, logger: logger), status: status, metrics: metrics)
            if failed {
                outcome.failed = true
                supervisor.requestStop()
            }
        }
        warmup.name = "model-warmup"
        warmup.start()

        do {
            try supervisor.run(signals: signals)
        } catch {
            logger.critical("pool gave up: \(error)")
            status.remove()
            return 2
        }
        status.remove()
        return outcome.failed ? 1 : 0
    }

    /// The overflow answer beyond the bounded queue (issue 12), on a unix pool only: the queue
    /// is the pool socket's backlog, and only a unix socket refuses at once when it is full.
    private func startOverloadResponder() throws -> MasterResponder? {
        let config = configuration
        guard let address = config.overloadAddress else {
            logger.info("queue: the pool's backlog holds \(config.effectiveQueueDepth) requests; no overload answer on a TCP pool")
            return nil
        }
        let socket = try ListeningSocket.bind(address, permissions: config.socketPermissions)
        let responder = try MasterResponder(
            listener: socket,
            handler: OverloadAnswer(queueDepth: config.effectiveQueueDepth, retryAfterSeconds: config.retryAfterSeconds),
            maxBodyBytes: config.maxRequestBytes, logger: logger)
        try responder.start()
        logger.info(
            "queue: \(config.effectiveQueueDepth) requests wait in the pool's backlog; beyond them 503 from \(address)")
        return responder
    }

    /// `/metrics` on `colmodernvbert-metrics.sock` in the run directory, unless
    /// `COLPALI_METRICS_ALLOW=off`. The socket has the pool socket's mode and group (nginx
    /// connects to both).
    private func startMetricsResponder(_ metrics: PoolMetrics) throws -> MasterResponder? {
        guard let allow = try ServiceConfiguration.metricsAllowList(fromEnvironment: environment),
            let address = try ServiceConfiguration.metricsAddress(fromEnvironment: environment)
        else {
            logger.info("metrics: /metrics is off (\(MetricsAllowList.variable)=off)")
            return nil
        }
        let socket = try ListeningSocket.bind(address, permissions: configuration.socketPermissions)
        // A scrape has no body; it renders in well under a millisecond.
        let responder = try MasterResponder(
            listener: socket, handler: MetricsAnswer(metrics: metrics, allow: allow), maxBodyBytes: 4096, logger: logger)
        try responder.start()
        logger.info("metrics: /metrics from \(address) for \(allow)")
        return responder
    }

    /// Downloads (or finds) the model and publishes progress; false on failure. The bytes
    /// fetched count into `colmodernvbert_download_bytes_total` (deltas of the progress).
    private func prepareModel(hub: HubClient, status: StateFile, metrics: PoolMetrics) -> Bool {
        let started = MonotonicTime.now()
        let lastWrite = LastWrite()
        let counted = DownloadedBytes()
        do {
            let directory = try hub.ensureModel(id: configuration.modelID, revision: configuration.modelRevision) { progress in
                if progress.phase == .downloading { metrics.downloaded(bytes: counted.advance(to: progress.completedBytes)) }
                // Keep the file fresh but do not rewrite it for every chunk.
                guard lastWrite.due(progress.phase == .downloading ? 0.5 : 0) else { return }
                try? status.write(WarmupStatus(phase: .downloading, message: progress.summary, progress: progress.fractionCompleted))
            }
            // The workers load from the directory named here; they never resolve the model themselves.
            try status.write(
                WarmupStatus(phase: .ready, message: "model files ready in \(directory.path)", progress: 1, modelDirectory: directory.path))
            logger.info("model files ready in \(directory.path) (\(started.elapsedText))")
            return true
        } catch {
            logger.critical("cannot prepare model \(configuration.modelID): \(error)")
            try? status.write(WarmupStatus(phase: .failed, message: "\(error)"))
            return false
        }
    }
}

/// Set by the warm-up thread, read after the pool stopped.
private final class WarmupOutcome: Sendable {
    private let value = Locked(false)
    var failed: Bool {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// The download progress already counted: `advance` returns the new bytes since the last
/// report (0 when the progress went back, e.g. a resumed file re-reported).
private final class DownloadedBytes: Sendable {
    private let last = Locked<Int64>(0)
    func advance(to completed: Int64) -> Int64 {
        last.withLock { last in
            defer { last = max(last, completed) }
            return max(0, completed - last)
        }
    }
}

/// Rate limit for progress writes.
private final class LastWrite: Sendable {
    private let last = Locked<MonotonicTime?>(nil)
    func due(_ interval: Double) -> Bool {
        last.withLock { last in
            let now = MonotonicTime.now()
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
    }
}
