import ColModernVBert
import FastCGI
import Foundation
import Testing

@testable import EmbeddingService

/// Deterministic values with every mantissa bit in play (so float16 rounding matters).
private func noise(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
    }
}

/// A page-like engine (dim 4): two tiles of 6 patches between text tokens, as an Idefics3
/// prompt interleaves them: rows 0-2 text, 3-8 patches, 9 text, 10-15 patches, 16-17 text.
/// Patch vectors are unit-norm; queries of n characters get n noise tokens.
private struct PageEngine: EmbeddingEngine {
    static let patchIndices = Array(3...8) + Array(10...15)
    static let tokens = 18
    var info = EngineInfo(
        modelID: "org/model", device: "cpu", dtype: "torch.float32", flashAttention: false, dim: 4, imageTokenID: 7,
        imageSeqLen: 4)

    func embedQueries(_ queries: [String]) throws -> [TokenVectors] {
        queries.enumerated().map { index, query in
            TokenVectors(tokenCount: query.count, dim: 4, values: noise(query.count * 4, seed: UInt64(index + 1)))
        }
    }

    func embedImages(_ images: [[UInt8]]) throws -> [ImageEmbedding] {
        images.indices.map { index in
            var values = noise(Self.tokens * 4, seed: UInt64(100 + index))
            for row in Self.patchIndices {
                let norm = (0..<4).reduce(Float(0)) { $0 + values[row * 4 + $1] * values[row * 4 + $1] }.squareRoot()
                for j in 0..<4 { values[row * 4 + j] /= norm }
            }
            return ImageEmbedding(
                vectors: TokenVectors(tokenCount: Self.tokens, dim: 4, values: values), imagePatchIndices: Self.patchIndices,
                tileRows: 0, tileColumns: 0, imageWidth: 10, imageHeight: 10)
        }
    }

    func patchGrid(width: Int, height: Int) -> PatchesResult { .grid(x: 1, y: 1) }
}

private let routes = Routes(
    state: ServiceState(.ready(PageEngine())),
    limits: RequestLimits(maxQueries: 4, maxImages: 2, maxBodyBytes: 1 << 20), apiVersion: "1", swaggerUIDirectory: nil
).router()

private func body(_ response: HTTPResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
}

private func queriesRequest(_ json: String, query: String = "") -> HTTPRequest {
    var headers = HTTPHeaders()
    headers.set("content-type", "application/json")
    return HTTPRequest(method: .post, path: "/embed/queries", query: query, headers: headers, body: Array(json.utf8))
}

/// One page upload plus the text fields `fields` (a field whose name starts with `@` is sent as a file).
private func imagesRequest(query: String = "", fields: [(String, String)] = []) -> HTTPRequest {
    var text = "--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
    for (name, value) in fields {
        let file = name.hasPrefix("@") ? "; filename=\"f.txt\"" : ""
        text += "--B\r\nContent-Disposition: form-data; name=\"\(name.drop(while: { $0 == "@" }))\"\(file)\r\n\r\n\(value)\r\n"
    }
    text += "--B--\r\n"
    var headers = HTTPHeaders()
    headers.set("content-type", "multipart/form-data; boundary=B")
    return HTTPRequest(method: .post, path: "/embed/images", query: query, headers: headers, body: Array(text.utf8))
}

/// The floats of a default (JSON) embedding, exactly as a client parses them.
private func floats(_ embedding: Any?) throws -> [[Float]] {
    try #require(embedding as? [[Double]]).map { $0.map(Float.init) }
}

/// The bytes of an encoded embedding, after checking its dtype and shape.
private func decoded(_ embedding: Any?, dtype: String, shape: [Int]) throws -> [UInt8] {
    let object = try #require(embedding as? [String: Any])
    #expect(object["dtype"] as? String == dtype)
    #expect(object["shape"] as? [Int] == shape)
    let text = try #require(object["data"] as? String)
    let data = try #require(Data(base64Encoded: text))
    return [UInt8](data)
}

private func littleEndianFloats(_ bytes: [UInt8]) -> [UInt32] {
    stride(from: 0, to: bytes.count, by: 4).map { i in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * $1) } }
}

@Suite struct EmbeddingOptionsRouteTests {
    @Test func base64Float32CarriesExactlyTheJSONFloats() throws {
        let plainQueries = try body(routes.handle(queriesRequest(#"{"queries": ["abc", "hello"]}"#)))
        let expected = try #require(plainQueries["embeddings"] as? [Any]).map { try floats($0) }
        // As a query parameter, as a JSON member, and both agreeing.
        for (json, query) in [
            (#"{"queries": ["abc", "hello"]}"#, "encoding=base64"),
            (#"{"queries": ["abc", "hello"], "encoding": "base64", "dtype": "float32"}"#, ""),
            (#"{"queries": ["abc", "hello"], "encoding": "BASE64"}"#, "encoding=base64&dtype=float32"),
        ] {
            let response = routes.handle(queriesRequest(json, query: query))
            #expect(response.status == 200)
            let items = try #require(try body(response)["embeddings"] as? [Any])
            #expect(items.count == 2)
            for (item, want) in zip(items, expected) {
                let bytes = try decoded(item, dtype: "float32", shape: [want.count, 4])
                #expect(littleEndianFloats(bytes) == want.flatMap { $0 }.map(\.bitPattern))
            }
        }

        let plainImage = try body(routes.handle(imagesRequest()))
        let imageItem = try #require((plainImage["embeddings"] as? [[String: Any]])?.first)
        let imageFloats = try floats(imageItem["embedding"])
        for request in [imagesRequest(query: "encoding=base64"), imagesRequest(fields: [("encoding", "base64")])] {
            let item = try #require((try body(routes.handle(request))["embeddings"] as? [[String: Any]])?.first)
            let bytes = try decoded(item["embedding"], dtype: "float32", shape: [PageEngine.tokens, 4])
            #expect(littleEndianFloats(bytes) == imageFloats.flatMap { $0 }.map(\.bitPattern))
            // The rest of the item is as before.
            #expect(item["image_patch_indices"] as? [Int] == PageEngine.patchIndices)
            #expect(item["image_patch_start"] as? Int == 3)
            #expect(item["pool_factor"] == nil)
        }
    }

    /// float16 is what numpy makes of the JSON floats: `np.float32(x).astype(np.float16)`.
    @Test func float16IsNumpysRoundingOfTheJSONFloats() throws {
        let plain = try #require((try body(routes.handle(imagesRequest()))["embeddings"] as? [[String: Any]])?.first)
        let item = try #require(
            (try body(routes.handle(imagesRequest(query: "encoding=base64&dtype=float16")))["embeddings"] as? [[String: Any]])?.first)
        let bytes = try decoded(item["embedding"], dtype: "float16", shape: [PageEngine.tokens, 4])
        #expect(bytes.count == PageEngine.tokens * 4 * 2)

        let input = FileManager.default.temporaryDirectory.appendingPathComponent("float16-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: plain["embedding"] as Any).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: referencePython())
        process.arguments = [
            "-c",
            "import base64, json, sys, numpy as np; "
                + "print(base64.b64encode(np.array(json.load(open(sys.argv[1])), dtype='<f4').astype('<f2').tobytes()).decode())",
            input.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let numpy = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(process.terminationStatus == 0)
        #expect(Data(base64Encoded: numpy).map([UInt8].init) == bytes)
    }

    @Test func badValuesAre400sNamingTheParameter() throws {
        func detail(_ response: HTTPResponse) throws -> String {
            #expect(response.status == 400)
            return try #require(try body(response)["detail"] as? String)
        }
        let q = #"{"queries": "abc"}"#
        #expect(try detail(routes.handle(queriesRequest(q, query: "encoding=msgpack"))).hasPrefix("encoding 'msgpack'"))
        #expect(try detail(routes.handle(queriesRequest(q, query: "encoding=base64&dtype=int8"))).hasPrefix("dtype 'int8'"))
        #expect(try detail(routes.handle(queriesRequest(q, query: "dtype=float16"))) == "dtype 'float16' needs encoding=base64")
        let twice = try detail(routes.handle(queriesRequest(#"{"queries": "abc", "encoding": "float"}"#, query: "encoding=base64")))
        #expect(twice.hasPrefix("encoding is given twice"))
        // A JSON member of the wrong type is a validation error, as pydantic's str would give.
        let typed = routes.handle(queriesRequest(#"{"queries": "abc", "encoding": 64}"#))
        #expect(typed.status == 422)
        let issue = try #require((try body(typed)["detail"] as? [[String: Any]])?.first)
        #expect(issue["loc"] as? [String] == ["body", "encoding"])
        #expect(issue["type"] as? String == "string_type")
        // null is absent.
        #expect(routes.handle(queriesRequest(#"{"queries": "abc", "encoding": null}"#)).status == 200)

        for factor in ["0", "-1", "65", "x", "2.5", ""] {
            let text = try detail(routes.handle(imagesRequest(query: "pool_factor=\(factor)")))
            #expect(text == "pool_factor must be an integer from 1 to 64, got '\(factor)'")
            #expect(try detail(routes.handle(imagesRequest(fields: [("pool_factor", factor)]))).hasPrefix("pool_factor must be"))
        }
        #expect(try detail(routes.handle(imagesRequest(fields: [("encoding", "gzip")]))).hasPrefix("encoding 'gzip'"))
        #expect(
            try detail(routes.handle(imagesRequest(query: "pool_factor=2", fields: [("pool_factor", "3")]))).hasPrefix(
                "pool_factor is given twice"))
        #expect(
            try detail(routes.handle(imagesRequest(fields: [("@encoding", "base64")])))
                == "Field encoding must be a text field, not a file upload")
    }

    @Test func poolFactorOneIsTheDefaultAnswer() throws {
        let plain = routes.handle(imagesRequest())
        #expect(plain.status == 200)
        for request in [imagesRequest(query: "pool_factor=1"), imagesRequest(fields: [("pool_factor", " 1 ")])] {
            let response = routes.handle(request)
            #expect(response.status == 200)
            #expect(response.body == plain.body)
        }
    }

    @Test func poolFactorThreePoolsOnlyThePatches() throws {
        let original = try floats((try body(routes.handle(imagesRequest()))["embeddings"] as? [[String: Any]])?.first?["embedding"])
        for request in [imagesRequest(query: "pool_factor=3"), imagesRequest(fields: [("pool_factor", "3")])] {
            let item = try #require((try body(routes.handle(request))["embeddings"] as? [[String: Any]])?.first)
            // 12 patches // 3 = 4 pooled vectors at rows 3...6, after the 3 leading text rows.
            #expect(item["pool_factor"] as? Int == 3)
            #expect(item["image_patch_start"] as? Int == 3)
            #expect(item["image_patch_len"] as? Int == 4)
            #expect(item["image_patch_indices"] as? [Int] == [3, 4, 5, 6])
            let rows = try floats(item["embedding"])
            #expect(rows.count == 3 + 4 + 3)
            // Text rows kept: those before the patches, then the separator and the tail.
            #expect(Array(rows[0..<3]) == Array(original[0..<3]))
            #expect(Array(rows[7...]) == [original[9], original[16], original[17]])
            for row in rows[3..<7] {
                let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                #expect(Swift.abs(norm - 1) < 1e-5, "\(norm)")
            }
            // The pooled rows are TokenPooler's, on exactly the patch rows.
            let patches = PageEngine.patchIndices.flatMap { original[$0] }
            let pooled = TokenPooler.pool(patches, count: 12, dim: 4, factor: 3)
            #expect(rows[3..<7].flatMap { $0 } == pooled.values)
            #expect(pooled.clusters.flatMap { $0 }.sorted() == Array(0..<12))
        }
        // Pooling and base64 together; a factor past the patch count leaves one vector.
        let both = try #require(
            (try body(routes.handle(imagesRequest(query: "encoding=base64&pool_factor=64")))["embeddings"] as? [[String: Any]])?.first)
        #expect(both["image_patch_len"] as? Int == 1)
        #expect(try decoded(both["embedding"], dtype: "float32", shape: [3 + 1 + 3, 4]).count == 7 * 4 * 4)
    }

    @Test func openAPIDescribesTheOptions() throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json(version: "1").utf8)) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: [String: Any]]])
        func parameters(_ path: String) -> [String] {
            ((paths[path]?["post"]?["parameters"] as? [[String: String]]) ?? []).compactMap {
                $0["$ref"]?.components(separatedBy: "/").last
            }
        }
        #expect(parameters("/embed/queries") == ["Encoding", "DType"])
        #expect(parameters("/embed/images") == ["Encoding", "DType", "PoolFactor"])
        let components = try #require(spec["components"] as? [String: [String: Any]])
        let schemas = try #require(components["schemas"])
        let encoded = try #require(schemas["EncodedTokenVectors"] as? [String: Any])
        #expect(encoded["required"] as? [String] == ["dtype", "shape", "data"])
        let factor = try #require(schemas["PoolFactor"] as? [String: Any])
        #expect(factor["maximum"] as? Int == EmbeddingOptions.maxPoolFactor)
        let form = try #require((schemas["ImagesForm"] as? [String: Any])?["properties"] as? [String: Any])
        #expect(Set(form.keys) == ["files", "encoding", "dtype", "pool_factor"])
        let queries = try #require((schemas["QueriesRequest"] as? [String: Any])?["properties"] as? [String: Any])
        #expect(Set(queries.keys) == ["queries", "encoding", "dtype"])
    }
}
