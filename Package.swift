// swift-tools-version:6.1
//
// ColModernVBert embedding service: model on libtorch, FastCGI worker pool behind nginx.
// See ARCHITECTURE.md for the module map.
import Foundation
import PackageDescription

// MARK: - libtorch location
//
// `LIBTORCH` (a folder with include/ and lib/) overrides the default, which is the
// official CPU wheel that scripts/setup.sh installs into .deps/ (linked as .deps/libtorch).
let packageDir = Context.packageDirectory
let environment = ProcessInfo.processInfo.environment
let libtorch = environment["LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(packageDir)/.deps/libtorch"
let libtorchLib = "\(libtorch)/lib"
let hasCUDA = FileManager.default.fileExists(atPath: "\(libtorchLib)/libtorch_cuda.so")

var torchLinkerFlags: [String] = ["-L\(libtorchLib)", "-Xlinker", "-rpath", "-Xlinker", libtorchLib]
if hasCUDA {
    // Nothing references libtorch_cuda symbolically; keep it so its CUDA backend registers.
    // Its CUDA runtime dependencies are found at run time through libtorch's own RUNPATH
    // (the nvidia-* wheels or the libtorch bundle), so they need not resolve at link time.
    torchLinkerFlags += [
        "-Xlinker", "--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Xlinker", "--as-needed",
        "-Xlinker", "--allow-shlib-undefined",
    ]
}
torchLinkerFlags += ["-ltorch", "-ltorch_cpu", "-lc10"]

// MARK: - Targets

let swiftSettings: [SwiftSetting] = []

var targets: [Target] = [
    // C++ bridge: a plain-C API over libtorch. No C++ exception crosses it.
    .target(
        name: "CTorch",
        cxxSettings: [
            .unsafeFlags(
                [
                    "-I\(libtorch)/include",
                    "-I\(libtorch)/include/torch/csrc/api/include",
                    "-D_GLIBCXX_USE_CXX11_ABI=1",
                    "-O2",
                    "-Wno-deprecated-declarations",
                ] + (hasCUDA ? ["-DCTORCH_WITH_CUDA=1"] : []))
        ],
        linkerSettings: [.unsafeFlags(torchLinkerFlags)]
    ),
    // Swift tensor API over CTorch, owning handles.
    .target(name: "Torch", dependencies: ["CTorch"], swiftSettings: swiftSettings),
    // Memory-mapped safetensors reader (single file and sharded).
    .target(name: "SafeTensors", dependencies: ["Torch"], swiftSettings: swiftSettings),

    // Typed views of a checkpoint's JSON files (config.json, processor, preprocessor and tokenizer configs).
    .target(name: "CheckpointConfig", swiftSettings: swiftSettings),
    // Hugging Face tokenizer.json (byte-level BPE) in pure Swift.
    .target(name: "Tokenizers", dependencies: ["CheckpointConfig", "POSIX"], swiftSettings: swiftSettings),
    // Image decoding through system codec libraries.
    .target(
        name: "CImageCodecs",
        linkerSettings: [
            .linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"),
            .linkedLibrary("webpdemux"), .linkedLibrary("gif"), .linkedLibrary("tiff"),
        ]
    ),
    // Decoding to RGB (Pillow semantics) and Idefics3 image preprocessing.
    .target(name: "Imaging", dependencies: ["CImageCodecs", "CheckpointConfig"], swiftSettings: swiftSettings),
    // Queries and images to model inputs: prompts, tokenization, tiling.
    .target(name: "Processing", dependencies: ["Tokenizers", "Imaging", "CheckpointConfig"], swiftSettings: swiftSettings),
    // The ColModernVBert model (ModernBERT + SigLIP + connector + projection) over Torch.
    .target(name: "ColModernVBert", dependencies: ["Torch", "SafeTensors", "CheckpointConfig", "POSIX"], swiftSettings: swiftSettings),

    // libcurl shim (curl_easy_setopt is variadic and cannot be called from Swift).
    .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
    // SHA-256 (LFS blobs) and SHA-1 (git blob ids) from OpenSSL's libcrypto, already a
    // dependency of Debian's libcurl: no build time, unlike swift-crypto's BoringSSL.
    .target(name: "CCrypto", linkerSettings: [.linkedLibrary("crypto")]),
    // Hugging Face hub download into the huggingface_hub cache layout.
    .target(
        name: "Hub",
        dependencies: ["CCurl", "CCrypto", "POSIX", .product(name: "Logging", package: "swift-log")],
        swiftSettings: swiftSettings
    ),

    // What the master and the workers share of the operating system: listen addresses and
    // sockets, system-call errors, the monotonic clock, the lock, signals, the environment.
    .target(name: "POSIX", swiftSettings: swiftSettings),

    // libfcgi (fcgiapp.h).
    .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI"),
    // FastCGI responder loop, HTTP request/response, multipart, JSON helpers.
    .target(
        name: "FastCGI",
        dependencies: ["CFastCGI", "POSIX", .product(name: "Logging", package: "swift-log")],
        swiftSettings: swiftSettings
    ),

    // The master side of the pool: binds the socket, spawns workers by exec, supervises them.
    .target(
        name: "WorkerPool",
        dependencies: ["POSIX", .product(name: "Logging", package: "swift-log")],
        swiftSettings: swiftSettings
    ),

    // HTTP routes of the embedding API, the worker and the master (process pool).
    .target(
        name: "EmbeddingService",
        dependencies: [
            "Torch", "ColModernVBert", "Processing", "Hub", "FastCGI", "WorkerPool", "POSIX",
            .product(name: "Logging", package: "swift-log"),
            // Instrumentation API (workers and master) and the master's exposition registry (issue 13).
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ],
        swiftSettings: swiftSettings
    ),
    .executableTarget(
        name: "colmodernvbert",
        dependencies: [
            "EmbeddingService", "POSIX",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        swiftSettings: swiftSettings
    ),

    .testTarget(name: "TorchTests", dependencies: ["Torch"], swiftSettings: swiftSettings),
    .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "Torch", "ProcessTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], swiftSettings: swiftSettings),
    .testTarget(name: "ImagingTests", dependencies: ["Imaging"], swiftSettings: swiftSettings),
    .testTarget(name: "ProcessingTests", dependencies: ["Processing"], swiftSettings: swiftSettings),
    .testTarget(
        name: "ColModernVBertTests", dependencies: ["ColModernVBert", "Torch", "SafeTensors", "Imaging", "ProcessTestSupport"],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "HubTests", dependencies: ["Hub", .product(name: "Logging", package: "swift-log")], swiftSettings: swiftSettings),
    .testTarget(name: "POSIXTests", dependencies: ["POSIX"], swiftSettings: swiftSettings),
    .testTarget(
        name: "FastCGITests", dependencies: ["FastCGI", "POSIX", .product(name: "Logging", package: "swift-log")],
        swiftSettings: swiftSettings),
    // Spawning, polling and cleaning up helper processes, for the suites that drive real ones.
    .target(name: "ProcessTestSupport", dependencies: ["POSIX"], path: "Tests/ProcessTestSupport", swiftSettings: swiftSettings),
    .testTarget(name: "WorkerPoolTests", dependencies: ["WorkerPool", "POSIX", "ProcessTestSupport"], swiftSettings: swiftSettings),
    // scripts/nginx.sh and scripts/run.sh driven as processes, in front of a supervised pool of
    // fake workers; nginx.sh asks the built colmodernvbert for the upstream address.
    .testTarget(
        name: "ScriptTests",
        dependencies: ["WorkerPool", "POSIX", "ProcessTestSupport", .product(name: "Logging", package: "swift-log")],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "EmbeddingServiceTests",
        dependencies: [
            "EmbeddingService", "ColModernVBert", "POSIX", .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: swiftSettings),
    // End to end: drives the built binary, nginx and curl as processes (no product module).
    .testTarget(name: "IntegrationTests", dependencies: ["ProcessTestSupport"], swiftSettings: swiftSettings),
]

// MARK: - Development filter
//
// `PACKAGE_TARGETS=Tokenizers,TokenizersTests` keeps only those targets and what they
// depend on, so one module can be built and tested while others are mid-change.
// Unset (CI, the README commands): everything.
var products: [Product] = [.executable(name: "colmodernvbert", targets: ["colmodernvbert"])]

// MARK: - Benchmarks
//
// Only with `ENABLE_BENCHMARKS=1` (as Hummingbird adds its benchmark targets only when
// ENABLE_HB_BENCHMARKS is set), so that CI and service builds never compile them:
//   ENABLE_BENCHMARKS=1 swift build -c release --product ModelBenchmark
// scripts/bench_model.sh builds and runs it. The benchmarks reach the internals they time
// through `package` access; products are named like their targets (the filter below relies on it).
if let flag = environment["ENABLE_BENCHMARKS"], !flag.isEmpty, flag != "0" {
    let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
    targets += [
        // What the benchmarks read about their process: CPU time, resident memory.
        .target(
            name: "BenchmarkSupport", dependencies: ["ColModernVBert", "SafeTensors", "Torch"], path: "Benchmarks/BenchmarkSupport",
            swiftSettings: swiftSettings),
        // The forward pass (queries, a page; vision and text towers apart) on benchmark inputs.
        .executableTarget(
            name: "ModelBenchmark", dependencies: ["ColModernVBert", "SafeTensors", "Torch", "BenchmarkSupport", argumentParser],
            path: "Benchmarks/ModelBenchmark", swiftSettings: swiftSettings),
        // Encoded page to the vision tower's input tensor: decode, tile, prompt, tensor; copies counted.
        .executableTarget(
            name: "ImageInputBenchmark", dependencies: ["Processing", "Imaging", "Torch", "BenchmarkSupport", argumentParser],
            path: "Benchmarks/ImageInputBenchmark", swiftSettings: swiftSettings),
        // A page's /embed/images answer per encoding and pool factor: bytes, route time, pooler time.
        .executableTarget(
            name: "EncodingBenchmark",
            dependencies: [
                "EmbeddingService", "FastCGI", "Processing", "Imaging", "Tokenizers", "ColModernVBert", "BenchmarkSupport", argumentParser,
            ],
            path: "Benchmarks/EncodingBenchmark", swiftSettings: swiftSettings),
        // Each COLPALI_DTYPE mode's embeddings and vision-tower time (scripts/bench_precision.sh).
        .executableTarget(
            name: "PrecisionBenchmark", dependencies: ["ColModernVBert", "SafeTensors", "Torch", "BenchmarkSupport", argumentParser],
            path: "Benchmarks/PrecisionBenchmark", swiftSettings: swiftSettings),
    ]
    products += [
        .executable(name: "ModelBenchmark", targets: ["ModelBenchmark"]),
        .executable(name: "ImageInputBenchmark", targets: ["ImageInputBenchmark"]),
        .executable(name: "EncodingBenchmark", targets: ["EncodingBenchmark"]),
        .executable(name: "PrecisionBenchmark", targets: ["PrecisionBenchmark"]),
    ]
}

if let only = environment["PACKAGE_TARGETS"], !only.isEmpty {
    let byName = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0) })
    var keep = Set<String>()
    var pending = only.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    while let name = pending.popLast() {
        guard let target = byName[name], keep.insert(name).inserted else { continue }
        for dependency in target.dependencies {
            if case .byNameItem(let dep, _) = dependency { pending.append(dep) }
            if case .targetItem(let dep, _) = dependency { pending.append(dep) }
        }
    }
    targets = targets.filter { keep.contains($0.name) }
    products = products.filter { keep.contains($0.name) }
}

let package = Package(
    name: "colmodernvbert",
    products: products,
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
    ],
    targets: targets,
    cxxLanguageStandard: .cxx20
)
