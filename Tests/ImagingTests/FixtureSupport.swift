import Foundation

@testable import Imaging

/// Fixtures written by scripts/fixtures/make_image_fixtures.py.
struct ImageFixtures: Sendable {
    struct Source: Decodable, Sendable {
        let file: String
        let pillow_mode: String
        let width: Int
        let height: Int
        let rgb_fnv1a64: String
        let rgb_channel_sums: [Int]
        let processor_rgb_fnv1a64: String
        let processor_rgb_differs: Bool
        let processed: [Processed]
    }

    struct Processed: Decodable, Sendable {
        let config: String
        let tiles_file: String
        let tile_count: Int
        let tile_size: Int
        let rows: Int
        let cols: Int
    }

    struct Bad: Decodable, Sendable {
        let file: String
        let error: String
        let pillow_rejects: Bool
    }

    struct Patch: Decodable, Sendable {
        let config: String
        let width: Int
        let height: Int
        let n_patches_x: Int
        let n_patches_y: Int
        let reference_rows: Int
        let reference_cols: Int
    }

    struct Resize: Decodable, Sendable {
        let source: String
        let width: Int
        let height: Int
        let file: String
    }

    struct Expected: Decodable, Sendable {
        let pillow_max_image_pixels: Int
        let luts: [String: [[Double]]]
        let sources: [String: Source]
        let bad: [String: Bad]
        let patches: [Patch]?
        let resizes: [Resize]?
        let processor_class: String?
    }

    let root: URL
    let expected: Expected

    /// The committed fixtures (repository root is three levels above this file).
    static let committed: ImageFixtures = {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // A missing or malformed fixture file is a broken checkout: fail loudly in every test using it.
        return try! ImageFixtures(root: repository.appendingPathComponent("Tests/Fixtures/images"))
    }()

    init(root: URL) throws {
        self.root = root
        let data = try Data(contentsOf: root.appendingPathComponent("expected.json"))
        self.expected = try JSONDecoder().decode(Expected.self, from: data)
    }

    func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(relative)))
    }

    func config(_ name: String) throws -> Idefics3ProcessorConfig {
        try Idefics3ProcessorConfig.load(directory: root.appendingPathComponent("configs/\(name)"))
    }

    /// The reference's float for each channel and byte value.
    func lut(_ name: String) -> [[Float]] {
        (expected.luts[name] ?? []).map { $0.map(Float.init) }
    }

    static var sourceNames: [String] { committed.expected.sources.keys.sorted() }
    static var badNames: [String] { committed.expected.bad.keys.sorted() }
    static var processedCases: [String] {
        committed.expected.sources.keys.sorted().flatMap { name in
            committed.expected.sources[name]!.processed.map { "\(name)@\($0.config)" }
        }
    }
}

/// 64-bit FNV-1a, the hash the fixture script records for RGB bytes.
func fnv1a64(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01B3
    }
    let digits = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

func channelSums(_ pixels: [UInt8]) -> [Int] {
    var sums = [0, 0, 0]
    for (index, value) in pixels.enumerated() {
        sums[index % 3] += Int(value)
    }
    return sums
}

/// Max and mean absolute difference between our pixel values and the reference's
/// (rebuilt exactly from the stored bytes and the reference's byte -> float table).
func compareToReference(
    _ processed: ProcessedImage, tiles: RGBImage, lut: [[Float]]
) -> (maxDiff: Float, meanDiff: Double, exact: Bool) {
    let side = processed.tileWidth
    var maxDiff: Float = 0
    var total = 0.0
    var exact = true
    for tile in 0..<processed.tileCount {
        for channel in 0..<3 {
            for y in 0..<side {
                for x in 0..<side {
                    let byte = tiles.pixels[((tile * side + y) * side + x) * 3 + channel]
                    let reference = lut[channel][Int(byte)]
                    let ours = processed.pixelValues[((tile * 3 + channel) * side + y) * side + x]
                    let diff = abs(ours - reference)
                    if diff != 0 { exact = false }
                    maxDiff = max(maxDiff, diff)
                    total += Double(diff)
                }
            }
        }
    }
    return (maxDiff, total / Double(processed.pixelValues.count), exact)
}
