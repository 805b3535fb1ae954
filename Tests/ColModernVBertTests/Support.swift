import Foundation
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// Fixture locations, relative to this file: Tests/ColModernVBertTests/ → repo root is three levels up.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tinyModel = root.appendingPathComponent("Tests/Fixtures/tiny-model")
    static let outputs = root.appendingPathComponent("Tests/Fixtures/model")

    static func file(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: outputs.appendingPathComponent(name).path)
    }

    /// The tiny model on the CPU in float32, loaded once for all tests.
    static let model: Result<ColModernVBertModel, Error> = Result {
        try ColModernVBertModel.load(directory: tinyModel, options: ModelOptions(device: .cpu, dtype: .float32))
    }

    static func tinyModelLoaded() throws -> ColModernVBertModel { try model.get() }

    static let cases: Result<CasesDescription, Error> = Result {
        try JSONDecoder().decode(CasesDescription.self, from: Data(contentsOf: outputs.appendingPathComponent("cases.json")))
    }
}

/// The parts of cases.json the tests read.
struct CasesDescription: Decodable {
    struct ImageCase: Decodable {
        let pixels: [String]
        let padding: String
    }

    let dim: Int
    let image_token_id: Int
    let image_seq_len: Int
    let query_cases: [String: QueryCase]
    let image_cases: [String: ImageCase]

    struct QueryCase: Decodable {
        let texts: [String]
        let padding: String
    }
}

/// One fixture case: its tensors by suffix ("input_ids", "attention_mask", "embeddings").
struct FixtureCase {
    let name: String
    let inputIds: Tensor
    let attentionMask: Tensor
    let embeddings: Tensor

    init(file: SafeTensorsFile, name: String) throws {
        self.name = name
        inputIds = try file.tensor(name + ".input_ids")
        attentionMask = try file.tensor(name + ".attention_mask")
        embeddings = try file.tensor(name + ".embeddings")
    }

    var batchSize: Int { inputIds.size(0) }

    /// Item `index`'s own tokens (attention mask 1): their ids and reference vectors.
    func item(_ index: Int) throws -> (ids: [Int], reference: [[Float]]) {
        let length = inputIds.size(1)
        let dim = embeddings.size(2)
        let ids = try inputIds.int64s()
        let mask = try attentionMask.int64s()
        let values = try embeddings.floats()
        var ownIds: [Int] = []
        var rows: [[Float]] = []
        for position in 0..<length where mask[index * length + position] != 0 {
            ownIds.append(Int(ids[index * length + position]))
            let start = (index * length + position) * dim
            rows.append(Array(values[start..<(start + dim)]))
        }
        return (ownIds, rows)
    }
}

/// Largest |a − b| over two equally shaped collections of token vectors; infinity on shape mismatch.
func maxAbsDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for (rowA, rowB) in zip(a, b) {
        guard rowA.count == rowB.count else { return .infinity }
        for (x, y) in zip(rowA, rowB) {
            let difference = Swift.abs(x - y)
            if difference.isNaN { return .infinity }
            worst = Swift.max(worst, difference)
        }
    }
    return worst
}

/// Largest |a − b| over two tensors of the same shape (float32 on the host).
func maxAbsDifference(_ a: Tensor, _ b: Tensor) throws -> Float {
    guard a.shape == b.shape else { return .infinity }
    let x = try a.floats()
    let y = try b.floats()
    var worst: Float = 0
    for (p, q) in zip(x, y) {
        let difference = Swift.abs(p - q)
        if difference.isNaN { return .infinity }
        worst = Swift.max(worst, difference)
    }
    return worst
}

/// The fidelity bound of the issue: every token vector within 1e-4 of the reference (float32).
let fidelityTolerance: Float = 1e-4

/// Pixel values [B, T, C, S, S] for an image case: each picture's stored tiles, padded with
/// trailing all-zero tiles to the batch's largest tile count (how the processor pads them).
func pixelValues(for pictures: [String], in file: SafeTensorsFile) throws -> Tensor {
    let tiles = try pictures.map { try file.tensor("pixels." + $0) }
    let most = tiles.map { $0.size(0) }.max() ?? 0
    let padded = try tiles.map { item -> Tensor in
        let missing = most - item.size(0)
        guard missing > 0 else { return item }
        var shape = item.shape
        shape[0] = missing
        return try Tensor.cat([item, Tensor.zeros(shape)], dim: 0)
    }
    return try Tensor.stack(padded, dim: 0)
}
