import ColModernVBert
import Foundation
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
    /// libtorch intra-op threads per worker on CPU.
    public var cpuThreads = 4
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
    /// "unix:/path" or "host:port".
    public var listen: String
    public var workers: Int
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

    public init(runDirectory: URL = URL(fileURLWithPath: ".run", isDirectory: true)) {
        self.runDirectory = runDirectory
        listen = "unix:" + runDirectory.appendingPathComponent("colmodernvbert.sock").path
        workers = 2
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

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ServiceConfiguration
    {
        let reader = EnvironmentReader(environment)
        let run = reader.string("COLPALI_RUN_DIR").map { URL(fileURLWithPath: $0, isDirectory: true) }
        var config = ServiceConfiguration(runDirectory: run ?? URL(fileURLWithPath: ".run", isDirectory: true).standardizedFileURL)
        config.modelID = reader.string("COLPALI_MODEL_ID") ?? config.modelID
        config.modelRevision = reader.string("COLPALI_MODEL_REVISION") ?? config.modelRevision
        config.apiVersion = reader.string("COLPALI_API_VERSION") ?? config.apiVersion
        config.cpuThreads = try reader.int("CPU_THREADS", in: 1...1024) ?? config.cpuThreads
        config.listen = reader.string("COLPALI_LISTEN") ?? config.listen
        config.workers = try reader.int("COLPALI_WORKERS", in: 1...256) ?? config.workers
        config.requestsPerWorker = try reader.int("COLPALI_REQUESTS_PER_WORKER", in: 1...256) ?? config.requestsPerWorker
        config.maxBatchSize = try reader.int("COLPALI_MAX_BATCH", in: 1...1024) ?? config.maxBatchSize
        config.maxQueriesPerRequest = try reader.int("COLPALI_MAX_QUERIES", in: 1...100_000) ?? config.maxQueriesPerRequest
        config.maxImagesPerRequest = try reader.int("COLPALI_MAX_IMAGES", in: 1...10_000) ?? config.maxImagesPerRequest
        config.maxRequestBytes = try reader.byteSize("COLPALI_MAX_REQUEST_BYTES") ?? config.maxRequestBytes
        config.maxImagePixels = try reader.int("COLPALI_MAX_IMAGE_PIXELS", in: 1...Int(Int32.max)) ?? config.maxImagePixels

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
        if let text = reader.string("COLPALI_CPU_LINEAR_KERNEL") {
            guard let kernel = CPULinearKernel.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                throw ConfigurationError(
                    variable: "COLPALI_CPU_LINEAR_KERNEL", value: text,
                    expected: CPULinearKernel.allCases.map(\.rawValue).joined(separator: ", "))
            }
            config.cpuLinearKernel = kernel
        }
        guard config.listen.hasPrefix("unix:") || config.listen.contains(":") else {
            throw ConfigurationError(variable: "COLPALI_LISTEN", value: config.listen, expected: "unix:/path or host:port")
        }
        return config
    }
}

/// A configuration variable that could not be used.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String
    public let expected: String

    public var description: String { "\(variable)=\"\(value)\" is not valid: expected \(expected)" }
}

/// Typed reads of environment variables; empty values count as unset.
struct EnvironmentReader {
    let environment: [String: String]

    init(_ environment: [String: String]) { self.environment = environment }

    func string(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(variable: name, value: text, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// "1048576", "512k", "64m", "1g" (nginx's spelling).
    func byteSize(_ name: String) throws -> Int? {
        guard let text = string(name)?.lowercased() else { return nil }
        let units: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var digits = Substring(text)
        var multiplier = 1
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value > 0, value <= Int.max / multiplier else {
            throw ConfigurationError(variable: name, value: text, expected: "a positive size like 1048576, 512k, 64m or 1g")
        }
        return value * multiplier
    }
}
