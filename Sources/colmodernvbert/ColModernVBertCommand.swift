import ArgumentParser
import EmbeddingService
import Foundation
import Hub
import Logging

@main
struct ColModernVBertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "colmodernvbert",
        abstract: "ColModernVBert embedding service: a FastCGI worker pool behind nginx.",
        discussion: "Configuration comes from the environment (see README.md).",
        subcommands: [Serve.self, WorkerCommand.self, Download.self, ConfigCommand.self],
        defaultSubcommand: Serve.self)
}

/// One-line logs on stderr; `COLPALI_LOG_LEVEL` (trace...critical) sets the level.
enum Logs {
    static func make(_ label: String, environment: [String: String]) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level(environment)
            return handler
        }
        return Logger(label: label)
    }

    /// `COLPALI_LOG_LEVEL`, else `fallback`.
    static func level(_ environment: [String: String], fallback: Logger.Level = .info) -> Logger.Level {
        environment["COLPALI_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? fallback
    }

    /// Runs `body` with the environment and a logger; a thrown error is logged as
    /// critical and a non-zero status becomes the exit code.
    static func running(_ label: String, _ body: ([String: String], Logger) throws -> Int32) throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = make(label, environment: environment)
        let status: Int32
        do {
            status = try body(environment, logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        if status != 0 { throw ExitCode(status) }
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare the model (download at first start), bind the socket, run and supervise the workers.")

    func run() throws {
        try Logs.running("colmodernvbert.master") { environment, logger in
            let configuration = try ServiceConfiguration.fromEnvironment(environment)
            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            return try Master(configuration: configuration, environment: environment, executable: executable, logger: logger).run()
        }
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve FastCGI requests on the socket passed as fd 0 (started by `serve`).")

    func run() throws {
        try Logs.running("colmodernvbert.worker") { environment, logger in
            let configuration = try ServiceConfiguration.fromEnvironment(environment)
            // Under a master the state file names the model directory; run by hand, find
            // (or fetch) the model here, so the worker itself never talks to the hub.
            var directory: URL?
            if !Worker.runsUnderMaster(environment) {
                let hub = HubClient(configuration: HubConfiguration.fromEnvironment(environment))
                directory =
                    try hub.cachedModel(id: configuration.modelID, revision: configuration.modelRevision)
                    ?? hub.ensureModel(id: configuration.modelID, revision: configuration.modelRevision)
            }
            return try Worker(configuration: configuration, environment: environment, modelDirectory: directory, logger: logger).run()
        }
    }
}

struct Download: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch the model into the hub cache without serving (image builds, init containers).",
        discussion: "Progress: a bar on a terminal, log lines otherwise; COLPALI_PROGRESS=bar|log|auto overrides.")

    @Option(help: "Model id or local folder (default: COLPALI_MODEL_ID).")
    var model: String?

    @Option(help: "Branch, tag or commit (default: COLPALI_MODEL_REVISION or main).")
    var revision: String?

    func run() throws {
        try Logs.running("colmodernvbert.download") { environment, logger in
            let configuration = try ServiceConfiguration.fromEnvironment(environment)
            let display = try ProgressDisplay.choose(environment, standardErrorIsTerminal: isatty(STDERR_FILENO) == 1)
            var hubLogger = logger
            var observer: HubProgressObserver?
            if display == .bar {
                // The bar shows what the per-file info lines say; by default only warnings
                // (retries, fallbacks) are logged, above it. COLPALI_LOG_LEVEL brings the rest back.
                let bar = ProgressBarWriter(fileDescriptor: STDERR_FILENO)
                hubLogger = Logger(label: logger.label) { label in
                    var handler = StreamLogHandler(label: label, stream: bar.logStream)
                    handler.logLevel = Logs.level(environment, fallback: .notice)
                    return handler
                }
                observer = bar.observer
            }
            let hub = HubClient(configuration: HubConfiguration.fromEnvironment(environment), logger: hubLogger)
            let directory = try hub.ensureModel(
                id: model ?? configuration.modelID, revision: revision ?? configuration.modelRevision, observer: observer)
            print(directory.path)
            return 0
        }
    }
}
