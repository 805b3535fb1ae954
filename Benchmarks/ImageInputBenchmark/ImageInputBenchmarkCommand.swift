import ArgumentParser
import BenchmarkSupport
import Foundation
import Imaging
import Processing
import Tokenizers
import Torch

/// `ImageInputBenchmark [IMAGE] [options]`: times an encoded page's way to the vision tower's
/// input tensor on the service's path (`ImagePreprocessor.input` into pixel memory, then a tensor
/// over that memory) against the path it replaced (tiles into a new array, then copied into a
/// tensor), and prints the pixel bytes each writes. Built with `ENABLE_BENCHMARKS=1`.
@main
struct ImageInputBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ImageInputBenchmark",
        abstract: "Times decode, tiling and tensor creation of one image on both image-input paths.")

    @Argument(help: "The encoded image.")
    var image = "Tests/Fixtures/images/sources/size_page_850x1100.jpg"

    @Option(help: "Folder with tokenizer.json and tokenizer_config.json.")
    var tokenizer = "Tests/Fixtures/tokenizer"

    @Option(help: "Folder with processor_config.json / preprocessor_config.json (the tile geometry).")
    var processorConfig = "Tests/Fixtures/images/configs/published"

    @Option(help: "Untimed runs of each path first.")
    var warmup = 1

    @Option(help: "Timed runs of each path.")
    var runs = 5

    @Option(help: "Instead of timing: run this path once (copying or in-place) and print its peak memory growth.")
    var peakMemory: ImagePath?

    enum ImagePath: String, ExpressibleByArgument {
        case copying
        case inPlace = "in-place"
    }

    func validate() throws {
        guard warmup >= 0, runs > 0 else { throw ValidationError("--runs must be positive and --warmup not negative") }
    }

    func run() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: image)))
        let configDirectory = URL(fileURLWithPath: processorConfig)
        let processor = try Processor(
            tokenizer: Tokenizer(directory: URL(fileURLWithPath: tokenizer)),
            configuration: ProcessorConfiguration(directory: configDirectory))
        let config = try Idefics3ProcessorConfig.load(directory: configDirectory)
        guard let tiler = Idefics3ImageProcessor(config: config) else {
            throw ValidationError("\(processorConfig): the image processor configuration is not usable")
        }
        let preprocessor = ImagePreprocessor(processor: processor, decoder: ImageDecoder(), tiler: tiler)

        // The path this replaced: tiles into a new [Float], then copied into the tensor.
        let copyingPath = {
            let rgb = try preprocessor.decoder.decodeRGB(bytes)
            let processed = tiler.process(rgb)
            _ = try processor.imagePrompt(processed.layout)
            return try processed.pixelValues.withUnsafeBytes { try Tensor(bytes: $0, shape: processed.shape, dtype: .float32) }
        }
        // The service's path: tiles written into the input's pixel memory, the tensor made over it.
        let inPlacePath = {
            let input = try preprocessor.input(encoded: bytes)
            return try Tensor.fromBlob(
                UnsafeRawPointer(input.pixels.values.baseAddress!), shape: input.pixelShape, dtype: .float32,
                owner: input.pixels)
        }
        if let peakMemory {
            let before = ProcessMetrics.residentMemory().current
            let tensor = try (peakMemory == .copying ? copyingPath : inPlacePath)()
            let peak = ProcessMetrics.residentMemory().peak
            print(
                String(
                    format: "%@: peak resident growth %.1f MiB for a tensor of %.1f MiB", peakMemory.rawValue,
                    Double(peak - before) / Double(1 << 20), Double(tensor.numel * 4) / Double(1 << 20)))
            return
        }
        // Alternating runs, so that other load on the machine falls on both paths alike.
        let (copying, inPlace) = try time(copyingPath, inPlacePath)
        // The copy alone (what the in-place path no longer does), on an array already tiled.
        let tiled = tiler.process(try preprocessor.decoder.decodeRGB(bytes))
        let (copyAlone, _) = try time(
            { try tiled.pixelValues.withUnsafeBytes { try Tensor(bytes: $0, shape: tiled.shape, dtype: .float32) } },
            { try Tensor.empty([1]) })
        let input = try preprocessor.input(encoded: bytes)
        let pixelBytes = input.pixels.count * MemoryLayout<Float>.stride
        let mib = Double(1 << 20)
        print("image \(image): \(input.imageWidth)x\(input.imageHeight), tiles \(input.layout) + global = \(input.layout.tileCount)")
        print("pixel values: \(String(format: "%.1f", Double(pixelBytes) / mib)) MiB per image")
        print("path                               median ms    min ms   pixel MiB written   copies after tiling")
        report("tiles into [Float], then copied", copying, written: 2 * Double(pixelBytes) / mib, copies: 1)
        report("tiles into pixel memory, in place", inPlace, written: Double(pixelBytes) / mib, copies: 0)
        print(String(format: "the copy alone (array to new tensor): median %.1f ms, min %.1f ms", median(copyAlone), copyAlone.min() ?? 0))
        let saved = median(copying) - median(inPlace)
        print(
            String(
                format: "saved per image: %.1f ms (%.0f%%), %.1f MiB written", saved, 100 * saved / median(copying),
                Double(pixelBytes) / mib))
    }

    private func time(_ first: () throws -> Tensor, _ second: () throws -> Tensor) throws -> ([Double], [Double]) {
        for _ in 0..<warmup {
            _ = try first()
            _ = try second()
        }
        let clock = ContinuousClock()
        func once(_ body: () throws -> Tensor) throws -> Double {
            var tensor: Tensor?
            let elapsed = try clock.measure { tensor = try body() }
            precondition(tensor?.dtype == .float32)
            return Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15
        }
        var times: ([Double], [Double]) = ([], [])
        for _ in 0..<runs {
            times.0.append(try once(first))
            times.1.append(try once(second))
        }
        return times
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    private func report(_ label: String, _ times: [Double], written: Double, copies: Int) {
        let line = String(format: "%-34@ %10.1f %9.1f %19.1f %21d", label as NSString, median(times), times.min() ?? 0, written, copies)
        print(line)
    }
}
