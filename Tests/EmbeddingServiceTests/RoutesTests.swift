import ColModernVBert
import FastCGI
import Foundation
import Testing

@testable import EmbeddingService

/// A stand-in engine: query i gets (i+1) tokens of value i; images get a fixed layout.
private struct FakeEngine: EmbeddingEngine {
    var info = EngineInfo(
        modelID: "org/model", device: "cpu", dtype: "torch.float32", flashAttention: false, dim: 2, imageTokenID: 7,
        imageSeqLen: 4)

    func embedQueries(_ queries: [String]) throws -> [TokenVectors] {
        try queries.map { query in
            if query == "bad" { throw InputError("query 0: too long") }
            let n = query.count
            return TokenVectors(tokenCount: n, dim: 2, values: [Float](repeating: 1, count: n * 2))
        }
    }

    /// Bytes "PNG..." decode; anything else is undecodable. One unsplit view: 4 image
    /// tokens at 2...5 in an 8-token prompt.
    func embedImages(_ images: [[UInt8]]) throws -> [ImageEmbedding] {
        try images.enumerated().map { index, bytes in
            guard bytes.starts(with: Array("PNG".utf8)) else { throw InputError("image \(index): cannot identify image file") }
            var values = [Float](repeating: 0, count: 16)
            for token in 2..<6 {
                values[token * 2] = Float(token) / 10
                values[token * 2 + 1] = 1
            }
            return ImageEmbedding(
                vectors: TokenVectors(tokenCount: 8, dim: 2, values: values), imagePatchIndices: [2, 3, 4, 5],
                tileRows: 0, tileColumns: 0, imageWidth: 30, imageHeight: 20)
        }
    }

    func patchGrid(width: Int, height: Int) -> PatchesResult {
        width > 0 && height > 0 ? .grid(x: width / 10, y: height / 10) : .failure("width and height must be positive")
    }
}

private func router(
    _ readiness: Readiness = .ready(FakeEngine()), maxQueries: Int = 4, maxImages: Int = 2, maxQueryBytes: Int = 1024,
    apiKeys: APIKeys = APIKeys()
) -> Router {
    Routes(
        state: ServiceState(readiness),
        limits: RequestLimits(maxQueries: maxQueries, maxImages: maxImages, maxBodyBytes: 1 << 20, maxQueryBytes: maxQueryBytes),
        apiVersion: "9.9", swaggerUIDirectory: nil, apiKeys: apiKeys
    ).router()
}

private func json(_ response: HTTPResponse) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
}

private func post(_ path: String, json text: String, contentType: String = "application/json") -> HTTPRequest {
    var headers = HTTPHeaders()
    headers.set("content-type", contentType)
    return HTTPRequest(method: .post, path: path, headers: headers, body: Array(text.utf8))
}

private func multipart(_ path: String, _ parts: [(name: String, filename: String?, type: String?, data: String)]) -> HTTPRequest {
    var body = ""
    for part in parts {
        body += "--XyZ\r\nContent-Disposition: form-data; name=\"\(part.name)\""
        if let filename = part.filename { body += "; filename=\"\(filename)\"" }
        body += "\r\n"
        if let type = part.type { body += "Content-Type: \(type)\r\n" }
        body += "\r\n\(part.data)\r\n"
    }
    body += "--XyZ--\r\n"
    return post(path, json: body, contentType: "multipart/form-data; boundary=XyZ")
}

@Suite struct RoutesTests {
    @Test func rootHealthInfo() throws {
        let r = router()
        let root = r.handle(HTTPRequest(method: .get, path: "/"))
        #expect(root.status == 200)
        #expect(try json(root) as? NSDictionary == ["message": "ColModernVBert Embedding API", "version": "9.9"])
        #expect(try json(r.handle(HTTPRequest(method: .get, path: "/health"))) as? NSDictionary == ["status": "healthy", "device": "cpu"])
        let info = try #require(try json(r.handle(HTTPRequest(method: .get, path: "/info"))) as? [String: Any])
        #expect(info["model_id"] as? String == "org/model")
        #expect(info["dim"] as? Int == 2)
        #expect(info["image_seq_len"] as? Int == 4)
        #expect(info["image_token_id"] as? Int == 7)
        #expect(info["dtype"] as? String == "torch.float32")
        #expect(info["flash_attn"] as? Bool == false)
        #expect(info["spatial_merge_size"] is NSNull)
        // What runs where (issue 14): one dtype everywhere for this engine, no CPU tier reported.
        #expect(info["vision_dtype"] as? String == "torch.float32")
        #expect(info["text_dtype"] as? String == "torch.float32")
        #expect(info["cpu_isa"] is NSNull)
        #expect(info["text_kernel"] is NSNull)
        #expect(info["vision_kernel"] is NSNull)
        #expect(info.count == 14)
    }

    @Test func warmingAnswers503WithProgress() throws {
        let r = router(.downloading(detail: "downloading 43%", progress: 0.43))
        let health = r.handle(HTTPRequest(method: .get, path: "/health"))
        #expect(health.status == 503)
        let body = try #require(try json(health) as? [String: Any])
        #expect(body["status"] as? String == "downloading")
        #expect(body["progress"] as? Double == 0.43)
        let queries = r.handle(post("/embed/queries", json: #"{"queries": "x"}"#))
        #expect(queries.status == 503)
        #expect((try json(queries) as? [String: Any])?["detail"] as? String == "Model is not ready yet: downloading 43%")
        #expect(router(.failed(detail: "broken")).handle(HTTPRequest(method: .get, path: "/info")).status == 503)
        // The service's own pages still answer.
        #expect(r.handle(HTTPRequest(method: .get, path: "/")).status == 200)
        #expect(r.handle(HTTPRequest(method: .get, path: "/openapi.json")).status == 200)
    }

    @Test func unknownPathsAndMethods() throws {
        let r = router()
        let missing = r.handle(HTTPRequest(method: .get, path: "/nope"))
        #expect(missing.status == 404)
        #expect(try json(missing) as? NSDictionary == ["detail": "Not Found"])
        let wrong = r.handle(HTTPRequest(method: .get, path: "/embed/queries"))
        #expect(wrong.status == 405)
        #expect(try json(wrong) as? NSDictionary == ["detail": "Method Not Allowed"])
    }

    @Test func queriesAcceptStringOrList() throws {
        let r = router()
        let one = try #require(try json(r.handle(post("/embed/queries", json: #"{"queries": "abc"}"#))) as? [String: Any])
        let embeddings = try #require(one["embeddings"] as? [[[Double]]])
        #expect(embeddings.count == 1)
        #expect(embeddings[0].count == 3)
        #expect(embeddings[0][0] == [1, 1])
        let two = try #require(try json(r.handle(post("/embed/queries", json: #"{"queries": ["a", "abcd"]}"#))) as? [String: Any])
        // No padding rows: each query keeps its own token count.
        #expect((two["embeddings"] as? [[[Double]]])?.map(\.count) == [1, 4])
    }

    @Test func queryErrors() throws {
        let r = router()
        let empty = r.handle(post("/embed/queries", json: #"{"queries": []}"#))
        #expect(empty.status == 400)
        #expect(try json(empty) as? NSDictionary == ["detail": "No queries provided"])
        #expect(r.handle(post("/embed/queries", json: #"{"queries": ["a","b","c","d","e"]}"#)).status == 400)
        #expect(r.handle(post("/embed/queries", json: #"{"queries": "bad"}"#)).status == 400)
        let missing = r.handle(post("/embed/queries", json: #"{"query": "x"}"#))
        #expect(missing.status == 422)
        let detail = try #require((try json(missing) as? [String: Any])?["detail"] as? [[String: Any]])
        #expect(detail.first?["loc"] as? [String] == ["body", "queries"])
        #expect(detail.first?["type"] as? String == "missing")
        #expect(r.handle(post("/embed/queries", json: #"{"queries": 5}"#)).status == 422)
        #expect(r.handle(post("/embed/queries", json: #"{"queries": ["a", 1]}"#)).status == 422)
        #expect(r.handle(post("/embed/queries", json: #"{"queries": "#)).status == 422)
    }

    @Test func patchesFollowWidthAndReportErrors() throws {
        let r = router()
        let response = r.handle(post("/patches", json: #"{"dimensions": [{"width": 100, "height": 50}, {"width": 0, "height": 5}]}"#))
        #expect(response.status == 200)
        let results = try #require((try json(response) as? [String: Any])?["results"] as? [[String: Any]])
        #expect(results[0] as NSDictionary == ["width": 100, "height": 50, "n_patches_x": 10, "n_patches_y": 5])
        #expect(results[1]["error"] as? String == "width and height must be positive")
        #expect(results[1]["n_patches_x"] == nil)
        #expect(r.handle(post("/patches", json: #"{"dimensions": [{"width": "wide"}]}"#)).status == 422)
    }

    @Test func imagesHappyPathAndErrors() throws {
        let r = router()
        let ok = r.handle(multipart("/embed/images", [("files", "a.png", "image/png", "PNG1"), ("files", "b.png", "image/png", "PNG2")]))
        #expect(ok.status == 200)
        let items = try #require((try json(ok) as? [String: Any])?["embeddings"] as? [[String: Any]])
        #expect(items.count == 2)
        #expect(items[0]["image_patch_start"] as? Int == 2)
        #expect(items[0]["image_patch_len"] as? Int == 4)
        #expect(items[0]["image_patch_indices"] as? [Int] == [2, 3, 4, 5])
        #expect((items[0]["embedding"] as? [[Double]])?.count == 8)

        let notImage = r.handle(multipart("/embed/images", [("files", "notes.txt", "text/plain", "PNG")]))
        #expect(notImage.status == 400)
        #expect(try json(notImage) as? NSDictionary == ["detail": "File notes.txt is not an image"])
        let undecodable = r.handle(multipart("/embed/images", [("files", "x.png", "image/png", "garbage")]))
        #expect(undecodable.status == 400)
        #expect(r.handle(multipart("/embed/images", [("other", "x.png", "image/png", "PNG")])).status == 422)
        #expect(r.handle(post("/embed/images", json: #"{"files": []}"#)).status == 422)
        let tooMany = r.handle(multipart("/embed/images", Array(repeating: ("files", "a.png", "image/png", "PNG"), count: 3)))
        #expect(tooMany.status == 400)
        let malformed = post("/embed/images", json: "--XyZ\r\nno headers end", contentType: "multipart/form-data; boundary=XyZ")
        #expect(r.handle(malformed).status == 400)
    }

    @Test func heatmap() throws {
        let r = router()
        let response = r.handle(
            multipart("/heatmap", [("query", nil, nil, "ab"), ("image", "p.png", "image/png", "PNG"), ("aggregate", nil, nil, "mean")]))
        #expect(response.status == 200)
        let body = try #require(try json(response) as? [String: Any])
        #expect(body["grid_rows"] as? Int == 2)
        #expect(body["grid_columns"] as? Int == 2)
        #expect(body["aggregate"] as? String == "mean")
        #expect(body["image_width"] as? Int == 30)
        #expect(body["image_height"] as? Int == 20)
        // query tokens are [1, 1]; patch k (2...5) is [k/10, 1] → scores 1.2, 1.3, 1.4, 1.5
        let expected: [[Double]] = [[0, Double(Float(1.0 / 3))], [Double(Float(2.0 / 3)), 1]]
        let heat = try #require(body["heatmap"] as? [[Double]])
        #expect(heat.count == 2)
        for (row, want) in zip(heat, expected) {
            for (value, target) in zip(row, want) { #expect(Swift.abs(value - target) < 1e-6) }
        }
        let missing = r.handle(multipart("/heatmap", [("query", nil, nil, "ab")]))
        #expect(missing.status == 422)
        let other = r.handle(
            multipart("/heatmap", [("query", nil, nil, "ab"), ("image", "p.png", "image/png", "PNG"), ("aggregate", nil, nil, "median")]))
        #expect((try json(other) as? [String: Any])?["aggregate"] as? String == "max")
    }

    @Test func openAPIAndDocs() throws {
        let r = router()
        let spec = try #require(try json(r.handle(HTTPRequest(method: .get, path: "/openapi.json"))) as? [String: Any])
        #expect((spec["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(spec["paths"] as? [String: Any])
        #expect(Set(paths.keys) == ["/", "/health", "/info", "/patches", "/embed/queries", "/embed/images", "/heatmap"])
        let docs = r.handle(HTTPRequest(method: .get, path: "/docs"))
        #expect(docs.status == 200)
        let page = String(decoding: docs.body, as: UTF8.self)
        #expect(page.contains("syntaxHighlight: false"))
        #expect(!page.contains("cdn"))
        // No asset folder configured: 404 rather than a crash.
        #expect(r.handle(HTTPRequest(method: .get, path: "/docs/swagger-ui.css")).status == 404)
    }

    // MARK: - Bounded work (issue 12)

    @Test func itemCountsAreCheckedBeforeItems() throws {
        let r = router()
        // 5 non-string items with a limit of 4: refused for the count, not with 5 type errors.
        let queries = r.handle(post("/embed/queries", json: #"{"queries": [1, 2, 3, 4, 5]}"#))
        #expect(queries.status == 400)
        #expect(try json(queries) as? NSDictionary == ["detail": "Too many queries: 5 (at most 4 per request)"])
        let items = Array(repeating: "{}", count: 1025).joined(separator: ",")
        let dimensions = r.handle(post("/patches", json: #"{"dimensions": [\#(items)]}"#))
        #expect(dimensions.status == 400)
        #expect(try json(dimensions) as? NSDictionary == ["detail": "Too many dimensions: 1025 (at most 1024 per request)"])
    }

    /// CPU seconds the calling thread has used: unlike the wall clock, not stretched when the
    /// other suites load the machine (a CI run took 7.3 s of wall time for 1 s of work here).
    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    @Test func hugeArraysAreRefusedWhileParsing() throws {
        // The issue's attack: 2 M empty objects (6 MB) once cost 12 s, 3.3 GB and a 388 MB 422.
        let items = Array(repeating: "{}", count: 2_000_000).joined(separator: ",")
        let started = Self.threadCPUSeconds()
        let response = router().handle(post("/patches", json: #"{"dimensions": [\#(items)]}"#))
        #expect(Self.threadCPUSeconds() - started < 5)
        #expect(response.status == 400)
        #expect(response.body.count < 200)
        let detail = try #require((try json(response) as? [String: Any])?["detail"] as? String)
        #expect(detail.hasPrefix("Request body holds 2000002 JSON values"), "\(detail)")
        let ones = Array(repeating: "1", count: 1_000_000).joined(separator: ",")
        let queries = router().handle(post("/embed/queries", json: #"{"queries": [\#(ones)]}"#))
        #expect(queries.status == 400 && queries.body.count < 200)
    }

    @Test func manyBadItemsGiveACapped422() throws {
        let items = Array(repeating: #"{"width": "w"}"#, count: 1000).joined(separator: ",")
        let response = router().handle(post("/patches", json: #"{"dimensions": [\#(items)]}"#))
        #expect(response.status == 422)
        let detail = try #require((try json(response) as? [String: Any])?["detail"] as? [[String: Any]])
        #expect(detail.count == 101)
        #expect(detail.last?["type"] as? String == "too_many_errors")
        #expect(detail.last?["msg"] as? String == "1900 more errors not listed (only the first 100 are)")
    }

    @Test func queryLengthIsBoundedInBytes() throws {
        let r = router(maxQueryBytes: 1024)
        #expect(r.handle(post("/embed/queries", json: #"{"queries": "\#(String(repeating: "a", count: 1024))"}"#)).status == 200)
        // 512 two-byte characters: 1024 bytes, fine; one more is over.
        #expect(r.handle(post("/embed/queries", json: #"{"queries": ["\#(String(repeating: "é", count: 512))"]}"#)).status == 200)
        let long = r.handle(post("/embed/queries", json: #"{"queries": ["a", "\#(String(repeating: "é", count: 513))"]}"#))
        #expect(long.status == 400)
        #expect(try json(long) as? NSDictionary == ["detail": "Query 1 is 1026 bytes long (at most 1024 bytes per query)"])
        let heat = r.handle(
            multipart("/heatmap", [("query", nil, nil, String(repeating: "q", count: 2000)), ("image", "p.png", "image/png", "PNG")]))
        #expect(heat.status == 400)
        #expect(try json(heat) as? NSDictionary == ["detail": "Query is 2000 bytes long (at most 1024 bytes per query)"])
    }

    @Test func errorsEchoOnlyAPrefix() throws {
        let r = router()
        let text = r.handle(post("/embed/queries", json: String(repeating: "\u{01}", count: 1 << 20), contentType: "text/plain"))
        #expect(text.status == 422)
        #expect(text.body.count < 4096, "\(text.body.count) bytes")
        let name = String(repeating: "n", count: 10_000) + ".txt"
        let notImage = r.handle(multipart("/embed/images", [("files", name, "text/plain", "PNG")]))
        #expect(notImage.status == 400)
        #expect(try json(notImage) as? NSDictionary == ["detail": "File \(String(repeating: "n", count: 64))… is not an image"])
    }

    @Test func healthAndErrorsCarryNoInternalDetails() throws {
        let secret = "download of https://hub.internal/x failed: /var/cache/hf/models--org--m/blobs/abc"
        for readiness in [
            Readiness.failed(detail: secret), .loading(detail: "loading from /var/cache/hf"),
            .downloading(detail: secret, progress: 0.5), .downloading(detail: secret, progress: nil),
        ] {
            let r = router(readiness)
            for request in [HTTPRequest(method: .get, path: "/health"), post("/embed/queries", json: #"{"queries": "x"}"#)] {
                let response = r.handle(request)
                #expect(response.status == 503)
                let body = String(decoding: response.body, as: UTF8.self)
                #expect(!body.contains("/var") && !body.contains("http"), "\(body)")
            }
        }
        let failed = try #require(
            try json(router(.failed(detail: secret)).handle(HTTPRequest(method: .get, path: "/health"))) as? [String: Any])
        #expect(failed["status"] as? String == "failed")
        #expect(failed["detail"] as? String == "model preparation failed (see the service log)")
        let half = try #require(
            try json(router(.downloading(detail: secret, progress: 0.29)).handle(HTTPRequest(method: .get, path: "/health")))
                as? [String: Any])
        #expect(half["detail"] as? String == "downloading 29%")
    }

    // MARK: - API keys (issue 12)

    @Test func apiKeysGuardEveryRouteButHealth() throws {
        let key = "k3y-0123456789abcdef"
        let r = router(apiKeys: APIKeys([key, "another-key-0123456789"]))
        func request(_ path: String, _ authorization: String?, method: HTTPMethod = .get) -> HTTPRequest {
            var headers = HTTPHeaders()
            if let authorization { headers.set("authorization", authorization) }
            if method == .post { headers.set("content-type", "application/json") }
            return HTTPRequest(
                method: method, path: path, headers: headers, body: method == .post ? Array(#"{"queries": "abc"}"#.utf8) : [])
        }
        #expect(r.handle(request("/health", nil)).status == 200)
        for path in ["/", "/info", "/openapi.json", "/docs"] {
            let missing = r.handle(request(path, nil))
            #expect(missing.status == 401, "\(path)")
            #expect(missing.headers["www-authenticate"] == "Bearer")
            #expect(try json(missing) as? NSDictionary == ["detail": "Not authenticated"])
            #expect(r.handle(request(path, "Bearer \(key)")).status == 200, "\(path)")
        }
        for bad in ["Bearer wrong", "Basic \(key)", "Bearer", "Bearer \(key)x", "Bearer \(key.dropLast())", key] {
            let answer = r.handle(request("/embed/queries", bad, method: .post))
            #expect(answer.status == 401, "\(bad)")
            #expect(try json(answer) as? NSDictionary == ["detail": "Invalid API key"])
        }
        #expect(r.handle(request("/embed/queries", "Bearer \(key)", method: .post)).status == 200)
        #expect(r.handle(request("/embed/queries", "bearer  another-key-0123456789 ", method: .post)).status == 200)
        // A request refused for its key is refused before its body is read.
        var hostile = request("/patches", nil, method: .post)
        hostile.body = Array("{".utf8)
        #expect(r.handle(hostile).status == 401)
        // Without keys nothing changes.
        #expect(router().handle(request("/info", nil)).status == 200)
        // The API description says so: bearer keys, optional, never for /health.
        let spec = try #require(try json(router().handle(request("/openapi.json", nil))) as? [String: Any])
        let schemes = (spec["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]
        #expect((schemes?["bearerKey"] as? [String: Any])?["scheme"] as? String == "bearer")
        let health = ((spec["paths"] as? [String: Any])?["/health"] as? [String: Any])?["get"] as? [String: Any]
        #expect((health?["security"] as? [[String: Any]])?.first?.isEmpty == true)
    }
}
