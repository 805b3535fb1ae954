import ColModernVBert
import Foundation
import POSIX
import Testing
import Torch

@testable import EmbeddingService

@Suite struct ServiceConfigurationTests {
    @Test func defaultsMatchTheOldService() throws {
        let config = try ServiceConfiguration.fromEnvironment([:], cpuBudget: CPUBudget(allowed: 2))
        #expect(config.modelID == "ModernVBERT/colmodernvbert-merged")
        #expect(config.modelRevision == "main")
        #expect(config.apiVersion == "0.0.2")
        // Fitted to the CPUs (issue 14; the old service's 4 threads × 2 workers oversubscribed 2 cores).
        #expect(config.cpuThreads == 2)
        #expect(config.workers == 1)
        #expect(config.device == .auto)
        #expect(config.cpuLinearKernel == .panels)
        #expect(config.listen.description.hasPrefix("unix:"))
        #expect(config.listen.description.hasSuffix("/colmodernvbert.sock"))
        // float32 on CPU, bfloat16 on GPU.
        #expect(config.resolvedDType == (config.resolvedDevice == .cpu ? .float32 : .bfloat16))
    }

    @Test func readsEveryVariable() throws {
        let config = try ServiceConfiguration.fromEnvironment(
            [
                "COLPALI_MODEL_ID": "/models/tiny", "COLPALI_MODEL_REVISION": "v2", "COLPALI_API_VERSION": "1.0",
                "CPU_THREADS": "2", "COLPALI_DEVICE": "cpu", "COLPALI_DTYPE": "torch.bfloat16",
                "COLPALI_LISTEN": "127.0.0.1:9000", "COLPALI_WORKERS": "3", "COLPALI_REQUESTS_PER_WORKER": "8",
                "COLPALI_MAX_BATCH": "4", "COLPALI_MAX_QUERIES": "10", "COLPALI_MAX_IMAGES": "5",
                "COLPALI_MAX_REQUEST_BYTES": "16m", "COLPALI_MAX_IMAGE_PIXELS": "1000", "COLPALI_RUN_DIR": "/tmp/x",
                "ENABLE_CPU_MULTIPROCESSING": "true", "COLPALI_CPU_LINEAR_KERNEL": "LIBTORCH",
            ], cpuBudget: CPUBudget(allowed: 8))
        #expect(config.modelID == "/models/tiny")
        #expect(config.modelRevision == "v2")
        #expect(config.apiVersion == "1.0")
        #expect(config.cpuThreads == 2)
        #expect(config.device == .fixed(.cpu))
        #expect(config.resolvedDType == .bfloat16)
        #expect(config.cpuLinearKernel == .libtorch)
        #expect(config.listen == .tcp(host: "127.0.0.1", port: 9000))
        #expect(config.workers == 3)
        #expect(config.requestsPerWorker == 8)
        #expect(config.maxBatchSize == 4)
        #expect(config.maxQueriesPerRequest == 10)
        #expect(config.maxImagesPerRequest == 5)
        #expect(config.maxRequestBytes == 16 << 20)
        #expect(config.maxImagePixels == 1000)
        #expect(config.runDirectory.path == "/tmp/x")
        #expect(config.stateFile.path == "/tmp/x/state.json")
    }

    @Test func badValuesNameTheVariable() {
        let cases: [(String, String)] = [
            ("CPU_THREADS", "zero"), ("CPU_THREADS", "0"), ("COLPALI_WORKERS", "-1"), ("COLPALI_DEVICE", "tpu"),
            ("COLPALI_DTYPE", "int8"), ("COLPALI_MAX_REQUEST_BYTES", "12q"), ("COLPALI_LISTEN", "nowhere"),
            ("COLPALI_CPU_LINEAR_KERNEL", "fast"), ("COLPALI_ALLOW_OVERSUBSCRIBE", "sometimes"),
        ]
        for (name, value) in cases {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") {
                try ServiceConfiguration.fromEnvironment([name: value])
            }
            do {
                _ = try ServiceConfiguration.fromEnvironment([name: value])
            } catch {
                #expect("\(error)".contains(name))
            }
        }
    }

    @Test func emptyValuesCountAsUnset() throws {
        let budget = CPUBudget(allowed: 4)
        let defaults = try ServiceConfiguration.fromEnvironment([:], cpuBudget: budget)
        #expect(try ServiceConfiguration.fromEnvironment(["CPU_THREADS": "", "COLPALI_MODEL_ID": " "], cpuBudget: budget) == defaults)
    }

    /// COLPALI_LISTEN is parsed here, once, with the POSIX grammar; the default lives in the
    /// run directory.
    @Test func listenAddressIsParsedOnceWithThePOSIXGrammar() throws {
        let forms: [(String, ListenAddress)] = [
            ("unix:/run/p.sock", .unix(path: "/run/p.sock")), ("./.run/p.sock", .unix(path: "./.run/p.sock")),
            ("localhost:0", .tcp(host: "localhost", port: 0)), ("[::1]:9000", .tcp(host: "::1", port: 9000)),
            ("fd:3", .inherited(fd: 3)),
        ]
        for (text, expected) in forms {
            #expect(try ServiceConfiguration.fromEnvironment(["COLPALI_LISTEN": text]).listen == expected)
        }
        let fromRunDirectory = try ServiceConfiguration.fromEnvironment(["COLPALI_RUN_DIR": "/srv/run"])
        #expect(fromRunDirectory.listen == .unix(path: "/srv/run/colmodernvbert.sock"))
        #expect(fromRunDirectory.listen == ServiceConfiguration.defaultListenAddress(runDirectory: fromRunDirectory.runDirectory))

        #expect {
            try ServiceConfiguration.fromEnvironment(["COLPALI_LISTEN": "localhost:70000"])
        } throws: { error in
            "\(error)".contains("COLPALI_LISTEN=\"localhost:70000\"") && "\(error)".contains("outside 0...65535")
        }
        let deep = "/" + String(repeating: "d", count: 100)
        #expect {
            try ServiceConfiguration.fromEnvironment(["COLPALI_RUN_DIR": deep])
        } throws: { error in
            (error as? ConfigurationError)?.variable == "COLPALI_RUN_DIR"
        }
        // With an explicit socket elsewhere, a deep run directory is fine.
        #expect(
            try ServiceConfiguration.fromEnvironment(["COLPALI_RUN_DIR": deep, "COLPALI_LISTEN": "127.0.0.1:9000"]).runDirectory.path
                == deep)
    }
}
