import ColModernVBert
import FastCGI
import Foundation
import Testing
import Torch

@testable import EmbeddingService

/// COLPALI_DTYPE's modes and COLPALI_CPU_ISA, from the environment to the loaded model and /info.
@Suite struct PrecisionConfigurationTests {
    static let tinyModel = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/tiny-model")

    @Test func autoLeavesEachTowerToTheMachine() throws {
        let config = try ServiceConfiguration.fromEnvironment(["COLPALI_DTYPE": "auto"])
        #expect(config.dtype == nil)
        #expect(config.visionDType == nil)
        #expect(config.cpuISALimit == nil)
    }

    @Test func mixedForcesTheVisionTowerToBFloat16() throws {
        let config = try ServiceConfiguration.fromEnvironment(["COLPALI_DTYPE": "Mixed", "COLPALI_DEVICE": "cpu"])
        #expect(config.dtype == .float32)
        #expect(config.visionDType == .bfloat16)
        #expect(config.resolvedDType == .float32, "queries run in the text tower's dtype")
    }

    @Test func theCPUTierCanBeCapped() throws {
        #expect(try ServiceConfiguration.fromEnvironment(["COLPALI_CPU_ISA": "avx2"]).cpuISALimit == .avx2)
        #expect(try ServiceConfiguration.fromEnvironment(["COLPALI_CPU_ISA": "AMX"]).cpuISALimit == .amxBF16)
        for (name, value) in [("COLPALI_CPU_ISA", "neon"), ("COLPALI_DTYPE", "mixed16")] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") {
                try ServiceConfiguration.fromEnvironment([name: value])
            }
        }
        do {
            _ = try ServiceConfiguration.fromEnvironment(["COLPALI_CPU_ISA": "neon"])
        } catch let error as ConfigurationError {
            #expect(error.description.contains("amx_bf16"), "\(error)")
        }
    }

    @Test(arguments: [
        (["COLPALI_DTYPE": "mixed"], "torch.float32", "torch.bfloat16"),
        (["COLPALI_DTYPE": "auto", "COLPALI_CPU_ISA": "avx2"], "torch.float32", "torch.float32"),
        (["COLPALI_DTYPE": "bfloat16"], "torch.bfloat16", "torch.bfloat16"),
        (["COLPALI_DTYPE": "float32"], "torch.float32", "torch.float32"),
    ])
    func theEngineReportsWhatRunsWhere(environment: [String: String], text: String, vision: String) throws {
        var config = try ServiceConfiguration.fromEnvironment(environment.merging(["COLPALI_DEVICE": "cpu"]) { a, _ in a })
        config.cpuThreads = 1
        let engine = try ModelEngine(directory: Self.tinyModel, modelID: "tiny", configuration: config)
        #expect(engine.info.dtype == text)
        #expect(engine.info.textDType == text)
        #expect(engine.info.visionDType == vision)
        let isa = try #require(engine.info.cpuISA.flatMap(CPUISA.init(rawValue:)))
        #expect(isa <= CPUFeatures.detect().isa)
        if environment["COLPALI_CPU_ISA"] == "avx2" { #expect(isa <= .avx2) }
        #expect(engine.info.precision.contains(isa.rawValue), "\(engine.info.precision)")

        let router = Routes(
            state: ServiceState(.ready(engine)), limits: RequestLimits(maxQueries: 4, maxImages: 2, maxBodyBytes: 1 << 20),
            apiVersion: "1", swaggerUIDirectory: nil
        ).router()
        let body = router.handle(HTTPRequest(method: .get, path: "/info")).body
        let info = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(info["dtype"] as? String == text)
        #expect(info["text_dtype"] as? String == text)
        #expect(info["vision_dtype"] as? String == vision)
        #expect(info["cpu_isa"] as? String == isa.rawValue)
        // The text tower's kernel: panels in float32, with the AVX-512 tile only where the CPU has
        // AVX-512 and the tier is not capped below it; libtorch's linear in other dtypes.
        let kernel: String
        if text != "torch.float32" {
            kernel = "libtorch"
        } else if environment["COLPALI_CPU_ISA"] == "avx2" || CPUFeatures.detect().hardwareISA < .avx512 {
            kernel = "panels-avx2"
        } else {
            kernel = "panels-avx512"
        }
        #expect(info["text_kernel"] as? String == kernel)
        #expect(engine.info.precision.contains("text linear kernel \(kernel)"), "\(engine.info.precision)")
        // The vision tower's: oneDNN in float32 from AVX-512 up and in bfloat16 from AVX512_BF16 up
        // (on the tier the service resolved, never above the hardware's), else libtorch's.
        let tier = environment["COLPALI_CPU_ISA"] == "avx2" ? .avx2 : CPUFeatures.detect().hardwareISA
        let visionKernel = tier >= (vision == "torch.float32" ? .avx512 : .avx512BF16) ? "oneDNN" : "libtorch"
        #expect(info["vision_kernel"] as? String == visionKernel)
        #expect(engine.info.precision.contains("vision linear kernel \(visionKernel)"), "\(engine.info.precision)")
    }
}
