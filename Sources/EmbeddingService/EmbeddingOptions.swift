import FastCGI
import Foundation

/// The opt-in response options of the embed routes: how embeddings are written
/// (`encoding`, `dtype`: `EmbeddingEncoding`) and, for `/embed/images`, by how much the
/// image-patch vectors are pooled (`pool_factor`, 1 = not at all). Each may come from the
/// query string or from the body (a JSON member of `/embed/queries`, a text field of
/// `/embed/images`); given in both places, the two must agree. Bad values are 400s that name
/// the parameter, decided before any model work.
struct EmbeddingOptions: Sendable, Equatable {
    /// Past this every page pools to a handful of vectors (a 1088-patch page: 17 at 64, one
    /// per tile), far beyond the factors retrieval keeps its quality at (2-3).
    static let maxPoolFactor = 64

    var encoding: EmbeddingEncoding = .json
    var poolFactor: Int = 1

    /// The options from the query string `query` and the body's values by name `body`.
    /// `pooling` says whether the route takes `pool_factor` (elsewhere it is ignored, as
    /// unknown parameters are).
    static func parse(
        query: [(name: String, value: String)], body: [String: String], pooling: Bool
    ) throws(HTTPError) -> EmbeddingOptions {
        func value(_ name: String) throws(HTTPError) -> String? {
            let fromQuery = query.last { $0.name == name }?.value
            let fromBody = body[name]
            if let fromQuery, let fromBody, Self.normalized(fromQuery) != Self.normalized(fromBody) {
                throw HTTPError(
                    400,
                    "\(name) is given twice with different values: '\(fromQuery.prefix(32))' in the query string, '\(fromBody.prefix(32))' in the body"
                )
            }
            return fromQuery ?? fromBody
        }
        var options = EmbeddingOptions()
        let encoding = try value("encoding")
        let dtype = try value("dtype")
        do {
            options.encoding = try EmbeddingEncoding(encoding: encoding, dtype: dtype)
        } catch {
            throw HTTPError(400, error.description)
        }
        if pooling, let text = try value("pool_factor") {
            options.poolFactor = try poolFactor(text)
        }
        return options
    }

    /// What two spellings of one value must share to agree (the values are case-insensitive).
    private static func normalized(_ text: String) -> String { text.trimmingCharacters(in: .whitespaces).lowercased() }

    /// `text` as a pool factor: a decimal integer from 1 to `maxPoolFactor`.
    static func poolFactor(_ text: String) throws(HTTPError) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let factor = Int(trimmed), (1...maxPoolFactor).contains(factor) else {
            throw HTTPError(400, "pool_factor must be an integer from 1 to \(maxPoolFactor), got '\(text.prefix(32))'")
        }
        return factor
    }
}
