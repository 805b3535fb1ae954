import ColModernVBert
import Foundation
import Imaging
import POSIX
import Torch

/// Everything the master and the workers read from the environment, validated once.
///
/// Names of the old service (`COLPALI_MODEL_ID`, `CPU_THREADS`, ...) keep their meaning;
/// the rest are prefixed `COLPALI_`. A bad value is an error naming the variable, never a
/// silent default.
public struct ServiceConfiguration: Sendable, Equatable {
    public enum DeviceChoice: Sendable, Equatable {
        case auto
        case fixed(Device)
    }

    public var modelID = "ModernVBERT/colmodernvbert-merged"
    public var modelRevision = "main"
    public var apiVersion = "0.0.2"
    /// libtorch intra-op threads per worker on CPU; by default fitted with `workers` to the CPUs
    /// this process may use (`CPUSplit`, `CPUBudget`).
    public var cpuThreads: Int
    public var device: DeviceChoice = .auto
    /// nil (`auto`): bfloat16 on GPU; on CPU the vision tower in bfloat16 where the CPU has native
    /// bfloat16 matrix instructions, float32 everywhere else (see `TowerPrecision`).
    public var dtype: DType?
    /// `COLPALI_DTYPE=mixed`: the vision tower and connector in this dtype (bfloat16), on any machine.
    public var visionDType: DType?
    /// `COLPALI_CPU_ISA`: the highest CPU tier the compute paths may use (below the hardware's, to
    /// run the slower paths on a faster machine); nil: the hardware's.
    public var cpuISALimit: CPUISA?
    /// The kernel for float32 linear layers on the CPU. `panels` (the default) is the fastest but
    /// keeps a private repacked copy of the text weights per worker (~440 MB for the published
    /// model); `libtorch` reads the mapped checkpoint, shared by all workers through the page cache.
    public var cpuLinearKernel: CPULinearKernel = .panels
    /// Image preprocessing equal to transformers' torchvision backend (what the replaced
    /// service ran, the default) or to its Pillow backend (`COLPALI_IMAGE_BACKEND`).
    public var imageBackend: ImageBackend = .torchvision
    /// The pool's socket (`COLPALI_LISTEN`, parsed once here): by default
    /// `unix:<run directory>/colmodernvbert.sock`.
    public var listen: ListenAddress
    /// Mode and group of a unix `listen` socket (`COLPALI_SOCKET_MODE`, `COLPALI_SOCKET_GROUP`;
    /// ServiceConfiguration+Socket.swift): 0660 by default.
    public var socketPermissions = UnixSocketPermissions.default
    public var workers: Int
    /// How `workers` × `cpuThreads` were fitted to the CPUs, and what was capped (logged by the master).
    public var cpuSplit: CPUSplit
    /// Requests one worker accepts concurrently (accept threads).
    public var requestsPerWorker = 4
    /// Largest number of queries (or images) run in one forward pass.
    public var maxBatchSize = 16
    public var maxQueriesPerRequest = 64
    public var maxImagesPerRequest = 16
    public var maxRequestBytes = 64 << 20
    /// Pillow's decompression-bomb limit.
    public var maxImagePixels = 89_478_485
    /// Pid file, sockets, state file, nginx prefix.
    public var runDirectory: URL
    // Request authentication and query length (issue 12; APIKeys.swift, Routes.swift).
    /// `COLPALI_API_KEYS` / `COLPALI_API_KEYS_FILE`; none: no authentication.
    public var apiKeys = APIKeys()
    /// `COLPALI_MAX_QUERY_BYTES`: UTF-8 bytes per query, checked before tokenization.
    public var maxQueryBytes = RequestLimits.defaultMaxQueryBytes
    // The bounded queue and the overload answer (issue 12; OverloadAnswer.swift, MasterResponder.swift).
    /// `COLPALI_QUEUE_DEPTH`: requests waiting in the pool socket's backlog beyond those the
    /// workers hold; by default `workers` × `requestsPerWorker`. Beyond it nginx gets 503 at once.
    public var queueDepth: Int?
    /// `COLPALI_RETRY_AFTER`: seconds in the overload answer's `Retry-After`.
    public var retryAfterSeconds = 1

    public init(runDirectory: URL = URL(fileURLWithPath: ".run", isDirectory: true)) {
        self.runDirectory = runDirectory
        listen = Self.defaultListenAddress(runDirectory: runDirectory)
        cpuSplit = CPUSplit.fit(cpus: CPUBudget.current().cpus, workers: nil, threads: nil)
        workers = cpuSplit.workers
        cpuThreads = cpuSplit.threadsPerWorker
    }

    /// File name of the default unix socket in the run directory; the one place it is
    /// spelled (scripts ask `colmodernvbert config nginx`).
    public static let defaultSocketName = "colmodernvbert.sock"

    /// `unix:<run directory>/colmodernvbert.sock`.
    public static func defaultListenAddress(runDirectory: URL) -> ListenAddress {
        .unix(path: runDirectory.appendingPathComponent(defaultSocketName).path)
    }

    /// The device the workers use.
    public var resolvedDevice: Device {
        switch device {
        case .auto: Torch.defaultDevice
        case .fixed(let device): device
        }
    }

    /// The dtype the workers use on `resolvedDevice`.
    public var resolvedDType: DType {
        dtype ?? (resolvedDevice == .cpu ? .float32 : .bfloat16)
    }

    public var stateFile: URL { runDirectory.appendingPathComponent("state.json") }

    /// `COLPALI_RUN_DIR`, default `./.run` (absolute).
    static func runDirectory(_ reader: EnvironmentReader) -> URL {
        let run = reader.string("COLPALI_RUN_DIR").map { URL(fileURLWithPath: $0, isDirectory: true) }
        return run ?? URL(fileURLWithPath: ".run", isDirectory: true).standardizedFileURL
    }

    /// Only the pool's socket (`COLPALI_LISTEN`, default in `COLPALI_RUN_DIR`), read exactly as
    /// `fromEnvironment` reads it: for `colmodernvbert config nginx`, which must not fail
    /// on settings nginx does not care about.
    public static func listenAddress(fromEnvironment environment: [String: String]) throws -> ListenAddress {
        let reader = EnvironmentReader(environment)
        return try listenAddress(reader, runDirectory: runDirectory(reader))
    }

    static func listenAddress(_ reader: EnvironmentReader, runDirectory: URL) throws(ConfigurationError) -> ListenAddress {
        if let text = reader.string("COLPALI_LISTEN") {
            do {
                return try ListenAddress(parsing: text)
            } catch {
                throw ConfigurationError(variable: "COLPALI_LISTEN", value: text, expected: "unix:/path, host:port or fd:N (\(error))")
            }
        }
        let fallback = defaultListenAddress(runDirectory: runDirectory)
        if case .unix(let path) = fallback, path.utf8.count > ListenAddress.maximumUnixPathBytes {
            throw ConfigurationError(
                variable: "COLPALI_RUN_DIR", value: runDirectory.path,
                expected:
                    "a directory whose \(defaultSocketName) path fits in \(ListenAddress.maximumUnixPathBytes) bytes (or set COLPALI_LISTEN)"
            )
        }
        return fallback
    }

    /// `cpuBudget`: the CPUs to fit workers and threads to (tests pass a fixed one);
    /// `effectiveUserID`: whose socket group default applies (root: the nginx workers' group).
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, cpuBudget: CPUBudget = .current(),
        effectiveUserID: uid_t = geteuid()
    ) throws -> ServiceConfiguration {
        let reader = EnvironmentReader(environment)
        var config = ServiceConfiguration(runDirectory: runDirectory(reader))
        config.modelID = reader.string("COLPALI_MODEL_ID") ?? config.modelID
        config.modelRevision = reader.string("COLPALI_MODEL_REVISION") ?? config.modelRevision
        config.apiVersion = reader.string("COLPALI_API_VERSION") ?? config.apiVersion
        config.cpuSplit = CPUSplit.fit(
            cpus: cpuBudget.cpus, workers: try reader.int("COLPALI_WORKERS", in: 1...256),
            threads: try reader.int("CPU_THREADS", in: 1...1024),
            allowOversubscribe: try reader.flag(CPUSplit.oversubscribeVariable) ?? false,
            budgetDescription: cpuBudget.description)
        config.cpuThreads = config.cpuSplit.threadsPerWorker
        config.workers = config.cpuSplit.workers
        config.listen = try listenAddress(reader, runDirectory: config.runDirectory)
        config.socketPermissions = try socketPermissions(reader, effectiveUserID: effectiveUserID)
        config.requestsPerWorker = try reader.int("COLPALI_REQUESTS_PER_WORKER", in: 1...256) ?? config.requestsPerWorker
        config.maxBatchSize = try reader.int("COLPALI_MAX_BATCH", in: 1...1024) ?? config.maxBatchSize
        config.maxQueriesPerRequest = try reader.int("COLPALI_MAX_QUERIES", in: 1...100_000) ?? config.maxQueriesPerRequest
        config.maxImagesPerRequest = try reader.int("COLPALI_MAX_IMAGES", in: 1...10_000) ?? config.maxImagesPerRequest
        config.maxRequestBytes = try reader.byteSize("COLPALI_MAX_REQUEST_BYTES") ?? config.maxRequestBytes
        config.maxImagePixels = try reader.int("COLPALI_MAX_IMAGE_PIXELS", in: 1...Int(Int32.max)) ?? config.maxImagePixels
        // Request authentication and query length (issue 12).
        config.apiKeys = try APIKeys.fromEnvironment(environment)
        config.maxQueryBytes = try reader.byteSize("COLPALI_MAX_QUERY_BYTES") ?? config.maxQueryBytes
        // The bounded queue and the overload answer (issue 12).
        config.queueDepth = try reader.int(queueDepthVariable, in: 1...65_535)
        config.retryAfterSeconds = try reader.int("COLPALI_RETRY_AFTER", in: 0...3600) ?? config.retryAfterSeconds

        if let text = reader.string("COLPALI_DEVICE"), text.lowercased() != "auto" {
            guard let device = Device(parsing: text) else {
                throw ConfigurationError(variable: "COLPALI_DEVICE", value: text, expected: "auto, cpu, cuda or cuda:N")
            }
            config.device = .fixed(device)
        }
        if let text = reader.string("COLPALI_DTYPE"), text.lowercased() != "auto" {
            let name = text.lowercased().replacingOccurrences(of: "torch.", with: "")
            if name == "mixed" {
                (config.dtype, config.visionDType) = (.float32, .bfloat16)
            } else {
                guard let dtype = DType(rawValue: name), [.float32, .bfloat16, .float16].contains(dtype) else {
                    throw ConfigurationError(
                        variable: "COLPALI_DTYPE", value: text, expected: "auto, float32, bfloat16, float16 or mixed")
                }
                config.dtype = dtype
            }
        }
        if let text = reader.string("COLPALI_CPU_ISA") {
            guard let isa = CPUISA(parsing: text) else {
                throw ConfigurationError(
                    variable: "COLPALI_CPU_ISA", value: text, expected: CPUISA.allCases.map(\.rawValue).joined(separator: ", "))
            }
            config.cpuISALimit = isa
        }
        if let text = reader.string("COLPALI_IMAGE_BACKEND") {
            guard let backend = ImageBackend(rawValue: text.lowercased()) else {
                throw ConfigurationError(variable: "COLPALI_IMAGE_BACKEND", value: text, expected: "torchvision or pil")
            }
            config.imageBackend = backend
        }
        if let text = reader.string("COLPALI_CPU_LINEAR_KERNEL") {
            guard let kernel = CPULinearKernel.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                throw ConfigurationError(
                    variable: "COLPALI_CPU_LINEAR_KERNEL", value: text,
                    expected: CPULinearKernel.allCases.map(\.rawValue).joined(separator: ", "))
            }
            config.cpuLinearKernel = kernel
        }
        return config
    }
}

/// A configuration variable that could not be used (names the variable, the value and what
/// was expected).
public typealias ConfigurationError = EnvironmentError
