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

    /// One source through one backend's processor: the grid and each tile's bytes
    /// (H x W x RGB) as a 64-bit FNV-1a hash and per-channel sums.
    struct Processed: Decodable, Sendable {
        let config: String
        let backend: String
        let tile_count: Int
        let tile_size: Int
        let rows: Int
        let cols: Int
        let tiles_fnv1a64: [String]
        let tiles_channel_sums: [[Int]]
        let bytes_differing_from_other_backend: Int
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

    /// torch's uint8 antialiased Lanczos interpolate of a source, as hash and sums.
    struct TorchResize: Decodable, Sendable {
        let source: String
        let width: Int
        let height: Int
        let fnv1a64: String
        let channel_sums: [Int]
        let bytes_differing_from_pillow: Int
    }

    struct Expected: Decodable, Sendable {
        let pillow_max_image_pixels: Int
        /// The PIL backend's byte -> float tables, by config.
        let luts: [String: [[Double]]]
        /// The torchvision backend's, by config.
        let torchvision_luts: [String: [[Double]]]
        let sources: [String: Source]
        let bad: [String: Bad]
        let patches: [Patch]?
        let resizes: [Resize]?
        let torch_resizes: [TorchResize]?
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

    /// The reference's float for each channel and byte value (PIL backend unless told).
    func lut(_ name: String, backend: ImageBackend = .pil) -> [[Float]] {
        let luts = backend == .pil ? expected.luts : expected.torchvision_luts
        return (luts[name] ?? []).map { $0.map(Float.init) }
    }

    static var sourceNames: [String] { committed.expected.sources.keys.sorted() }
    static var badNames: [String] { committed.expected.bad.keys.sorted() }
    /// "source@config@backend" for every processed case.
    static var processedCases: [String] {
        committed.expected.sources.keys.sorted().flatMap { name in
            committed.expected.sources[name]!.processed.map { "\(name)@\($0.config)@\($0.backend)" }
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

/// Our pixel values against a reference case: each tile's values are mapped back
/// to bytes through the reference's byte -> float table (exact: a value the table
/// does not hold is a mismatch), and the bytes are hashed as the fixture script does.
struct TileComparison {
    /// Tiles whose bytes hash differently from the reference's (or hold a value
    /// outside the table), by index.
    var mismatchedTiles: [Int] = []
    /// Values not in the reference's table at all.
    var valuesOutsideTable = 0
    /// Largest |ours - reference| of a tile's per-channel byte sums, divided by the
    /// tile's pixel count: a lower bound on the mean byte difference.
    var worstMeanByteOffset = 0.0

    var exact: Bool { mismatchedTiles.isEmpty && valuesOutsideTable == 0 }

    init(_ processed: ProcessedImage, reference: ImageFixtures.Processed, lut: [[Float]]) {
        let side = processed.tileWidth
        let plane = side * side
        let inverse = lut.map { channel in
            Dictionary(channel.enumerated().map { ($0.element, UInt8($0.offset)) }, uniquingKeysWith: { first, _ in first })
        }
        for tile in 0..<processed.tileCount {
            var bytes = [UInt8](repeating: 0, count: plane * 3)
            var sums = [0, 0, 0]
            var outside = 0
            for channel in 0..<3 {
                for index in 0..<plane {
                    let value = processed.pixelValues[(tile * 3 + channel) * plane + index]
                    guard let byte = inverse[channel][value] else {
                        outside += 1
                        continue
                    }
                    bytes[index * 3 + channel] = byte
                    sums[channel] += Int(byte)
                }
            }
            valuesOutsideTable += outside
            let matches =
                tile < reference.tiles_fnv1a64.count && outside == 0 && fnv1a64(bytes) == reference.tiles_fnv1a64[tile]
            if !matches { mismatchedTiles.append(tile) }
            if tile < reference.tiles_channel_sums.count {
                for channel in 0..<3 {
                    let offset = Double(abs(sums[channel] - reference.tiles_channel_sums[tile][channel])) / Double(plane)
                    worstMeanByteOffset = max(worstMeanByteOffset, offset)
                }
            }
        }
    }

    var summary: String {
        "tiles \(mismatchedTiles) differ, \(valuesOutsideTable) values outside the table, "
            + "worst per-channel mean byte offset \(worstMeanByteOffset)"
    }
}
