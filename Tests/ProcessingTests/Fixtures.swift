import Foundation
import Imaging
import Processing
import Tokenizers

/// The reference ids written by scripts/fixtures/make_processing_fixture.py.
struct Expected: Decodable {
    struct QueryBatch: Decodable {
        let texts: [String]
        let input_ids: [[Int]]
        let attention_mask: [[Int]]
    }

    struct Image: Decodable {
        let width: Int
        let height: Int
        let splitting: Bool
        let rows: Int
        let cols: Int
        let input_ids: [Int]
    }

    struct ImageBatch: Decodable {
        let sizes: [[Int]]
        let input_ids: [[Int]]
        let attention_mask: [[Int]]
    }

    struct Grid: Decodable {
        let rows: Int
        let cols: Int
        let input_ids: [Int]
    }

    let queries: [QueryBatch]
    let images: [Image]
    let image_batch: ImageBatch
    let grids: [Grid]
}

enum Fixtures {
    /// Repository root: three levels up from Tests/ProcessingTests/Fixtures.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tokenizerDirectory = root.appendingPathComponent("Tests/Fixtures/tokenizer")
    static let tinyModelDirectory = root.appendingPathComponent("Tests/Fixtures/tiny-model")

    /// A tile layout for prompt tests: the prompt depends on rows and columns only.
    static func layout(rows: Int, cols: Int) -> TileLayout {
        TileLayout(rows: rows, cols: cols, tileSize: 512)
    }

    static func geometryDirectory(_ name: String) -> URL {
        root.appendingPathComponent("Tests/Fixtures/processing/\(name)")
    }

    static func processor(geometry: String) throws -> Processor {
        try Processor(
            tokenizer: Tokenizer(directory: tokenizerDirectory),
            configuration: ProcessorConfiguration(directory: geometryDirectory(geometry)))
    }

    static func expected(geometry: String) throws -> Expected {
        let data = try Data(contentsOf: geometryDirectory(geometry).appendingPathComponent("expected.json"))
        return try JSONDecoder().decode(Expected.self, from: data)
    }
}
