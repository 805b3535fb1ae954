import Foundation
import Testing

/// Tests/Fixtures/service/reference.json, written by scripts/fixtures/make_service_fixtures.py:
/// what the Python reference (transformers, CPU, float32) answers for the same bytes.
struct Reference: Decodable, Sendable {
    struct Info: Decodable, Sendable {
        let dim: Int
        let image_seq_len: Int
        let image_token_id: Int
    }

    struct Query: Decodable, Sendable {
        let text: String
        let embedding: [[Double]]
    }

    struct Image: Decodable, Sendable {
        let file: String
        let content_type: String
        let width: Int
        let height: Int
        let tile_rows: Int
        let tile_columns: Int
        let image_patch_indices: [Int]
        let embedding: [[Double]]

        var path: String { Paths.fixture("images/\(file)") }
    }

    struct Patches: Decodable, Sendable {
        let width: Int
        let height: Int
        let n_patches_x: Int
        let n_patches_y: Int
    }

    struct Heatmap: Decodable, Sendable {
        let query: String
        let file: String
        let aggregate: String
        let grid_rows: Int
        let grid_columns: Int
        let min_score: Double
        let max_score: Double
        let heatmap: [[Double]]
    }

    let info: Info
    let queries: [Query]
    let images: [Image]
    let patches: [Patches]
    let heatmaps: [Heatmap]

    static func load() throws -> Reference {
        let path = Paths.fixture("reference.json")
        let data = try #require(
            FileManager.default.contents(atPath: path), "missing \(path): run scripts/fixtures/make_service_fixtures.py")
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    func image(_ file: String) throws -> Image { try #require(images.first { $0.file == file }) }
    func query(_ text: String) throws -> Query { try #require(queries.first { $0.text == text }) }
}

/// A JSON value the service sent, read as a matrix of numbers (nil if it is not one).
func matrix(_ value: Any?) -> [[Double]]? {
    guard let rows = value as? [Any] else { return nil }
    var result: [[Double]] = []
    for row in rows {
        guard let numbers = row as? [Any] else { return nil }
        var values: [Double] = []
        for number in numbers {
            guard let number = number as? NSNumber else { return nil }
            values.append(number.doubleValue)
        }
        result.append(values)
    }
    return result
}

/// Largest absolute difference of two matrices of the same shape, or nil if the shapes differ.
func maxAbsDifference(_ a: [[Double]], _ b: [[Double]]) -> Double? {
    guard a.count == b.count else { return nil }
    var worst = 0.0
    for (rowA, rowB) in zip(a, b) {
        guard rowA.count == rowB.count else { return nil }
        for (x, y) in zip(rowA, rowB) { worst = max(worst, abs(x - y)) }
    }
    return worst
}

func shape(_ m: [[Double]]) -> String { "\(m.count)x\(m.first?.count ?? 0)" }

/// Measured numbers, printed so that a test run reports them (stdout of `swift test`).
func report(_ line: String) {
    print("[IntegrationTests] \(line)")
}
