import Foundation
import Tokenizers

/// Locations of the committed tokenizer fixtures (Tests/Fixtures/tokenizer).
enum Fixtures {
    /// Repository root: three levels up from Tests/TokenizersTests/Fixtures.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tokenizerDirectory = root.appendingPathComponent("Tests/Fixtures/tokenizer")

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: tokenizerDirectory.appendingPathComponent(name))
    }

    static func tokenizer() throws -> Tokenizer {
        try Tokenizer(directory: tokenizerDirectory)
    }

    /// The fixture tokenizer.json with some fields replaced, as `[dotted.path: value]`
    /// (the same edits the corpus generator applies for its variants).
    static func editedTokenizerJSON(_ edits: [String: Any]) throws -> Data {
        var document = try JSONSerialization.jsonObject(with: data("tokenizer.json")) as! [String: Any]
        for (path, value) in edits {
            document = set(document, path.split(separator: ".").map(String.init), value)
        }
        return try JSONSerialization.data(withJSONObject: document)
    }

    private static func set(_ object: [String: Any], _ path: [String], _ value: Any) -> [String: Any] {
        var copy = object
        if path.count == 1 {
            copy[path[0]] = value
        } else {
            copy[path[0]] = set(copy[path[0]] as? [String: Any] ?? [:], Array(path.dropFirst()), value)
        }
        return copy
    }
}
