import Foundation
import Testing

/// Every endpoint over HTTPS through nginx, with the tiny model, compared with the Python
/// reference's answers for the same bytes (bytes in, JSON out); the plain HTTP port too.
@Suite(.timeLimit(.minutes(3)))
struct EndpointTests {
    /// /embed/queries: the issue's bound (max abs difference per value).
    static let queryTolerance = 1e-4
    /// /embed/images: what the Swift pipeline (decode, resize, tile, model) achieves against
    /// Pillow + transformers on these fixtures is about 4e-7 (see the printed figures);
    /// the bound leaves room for other libtorch builds and CPU kernels but stays tight enough
    /// that a one-level pixel difference or a swapped tile would fail it.
    static let imageTolerance = 2e-5
    /// /heatmap: min-max normalisation divides by the score span, so allow a bit more.
    static let heatmapTolerance = 1e-4

    @Test func everyEndpointThroughNginxMatchesTheReference() async throws {
        let reference = try Reference.load()
        let service = try await ServiceInstance.started(overrides: ["COLPALI_API_VERSION": "9.8.7-test"])
        defer { service.terminate() }
        let https = service.https

        // GET /
        let root = try await https.get("/")
        #expect(root.status == 200, "\(root)")
        #expect(root.headers["content-type"]?.hasPrefix("application/json") == true)
        #expect(root.object?["message"] as? String == "ColModernVBert Embedding API")
        #expect(root.object?["version"] as? String == "9.8.7-test", "COLPALI_API_VERSION is honoured")

        // GET /health
        let health = try await https.get("/health")
        #expect(health.status == 200, "\(health)")
        #expect(health.object?["status"] as? String == "healthy")
        #expect(health.object?["device"] as? String == "cpu")

        // GET /info
        let info = try #require(try await https.get("/info").object)
        #expect(info["version"] as? String == "9.8.7-test")
        #expect(info["model_id"] as? String == Paths.tinyModel)
        #expect(info["device"] as? String == "cpu")
        #expect(info["dtype"] as? String == "torch.float32")
        #expect(info["flash_attn"] as? Bool == false)
        #expect(info.keys.contains("spatial_merge_size") && info["spatial_merge_size"] is NSNull)
        #expect(info["dim"] as? Int == reference.info.dim)
        #expect(info["image_token_id"] as? Int == reference.info.image_token_id)
        #expect(info["image_seq_len"] as? Int == reference.info.image_seq_len)

        try await checkPatches(https, reference)
        try await checkQueries(https, reference)
        try await checkImages(https, reference)
        try await checkHeatmaps(https, reference)
        try await checkDocumentation(https)
        try await checkUnknownPathsAndMethods(https)

        // The plain HTTP port serves the same API.
        let http = service.http
        let plainHealth = try await http.get("/health")
        #expect(plainHealth.status == 200 && plainHealth.object?["status"] as? String == "healthy", "\(plainHealth)")
        let query = reference.queries[0]
        let plain = try await http.postJSON("/embed/queries", object: ["queries": query.text])
        #expect(plain.status == 200, "\(plain)")
        let plainRows = try #require(matrix((plain.object?["embeddings"] as? [Any])?.first))
        let plainDiff = try #require(maxAbsDifference(plainRows, query.embedding), "shape \(shape(plainRows))")
        #expect(plainDiff <= Self.queryTolerance)

        // nginx compresses JSON for clients that accept it.
        let uncompressed = try await https.postJSON("/embed/queries", object: ["queries": reference.queries.map(\.text)])
        let compressed = try await https.request(
            "/embed/queries",
            [
                "-H", "Content-Type: application/json", "-H", "Accept-Encoding: gzip",
                "--data-binary", "{\"queries\": \(try jsonText(reference.queries.map(\.text)))}",
            ])
        #expect(compressed.status == 200 && compressed.headers["content-encoding"] == "gzip", "\(compressed.headers)")
        #expect(compressed.body.count * 2 < uncompressed.body.count, "gzip: \(compressed.body.count) of \(uncompressed.body.count) bytes")

        let stopped = try await service.stop()
        #expect(stopped.master == "exit 0", "\(service.log.suffix(2000))")
        #expect(stopped.nginx == "exit 0", "\(service.nginxLog.suffix(2000))")
    }

    func checkPatches(_ https: HTTPClient, _ reference: Reference) async throws {
        let sizes =
            reference.patches.map { ["width": $0.width, "height": $0.height] } + [
                ["width": 0, "height": 10], ["width": 10, "height": -3],
            ]
        let answer = try await https.postJSON("/patches", object: ["dimensions": sizes])
        #expect(answer.status == 200, "\(answer)")
        let results = try #require(answer.object?["results"] as? [[String: Any]])
        try #require(results.count == sizes.count, "one result per dimension, in order")
        for (expected, result) in zip(reference.patches, results) {
            #expect(result["width"] as? Int == expected.width && result["height"] as? Int == expected.height)
            #expect(result["n_patches_x"] as? Int == expected.n_patches_x, "x follows the width: \(expected) got \(result)")
            #expect(result["n_patches_y"] as? Int == expected.n_patches_y, "\(expected) got \(result)")
            #expect(result["error"] == nil)
        }
        for result in results.suffix(2) {
            #expect(result["error"] is String, "a size that cannot be computed reports an error: \(result)")
            #expect(result["n_patches_x"] == nil && result["n_patches_y"] == nil, "null keys are left out: \(result)")
        }
    }

    func checkQueries(_ https: HTTPClient, _ reference: Reference) async throws {
        // One query as a string.
        let single = try await https.postJSON("/embed/queries", object: ["queries": reference.queries[1].text])
        #expect(single.status == 200, "\(single)")
        let singleList = try #require(single.object?["embeddings"] as? [Any])
        #expect(singleList.count == 1)
        var worst = 0.0
        if let rows = matrix(singleList.first) {
            let diff = try #require(
                maxAbsDifference(rows, reference.queries[1].embedding),
                "own tokens only: got \(shape(rows)), reference \(shape(reference.queries[1].embedding))")
            worst = max(worst, diff)
        } else {
            Issue.record("embedding is not a matrix: \(single)")
        }

        // All queries in one request (batched with padding inside the service; no padding rows out).
        let batch = try await https.postJSON("/embed/queries", object: ["queries": reference.queries.map(\.text)])
        #expect(batch.status == 200, "\(batch)")
        let items = try #require(batch.object?["embeddings"] as? [Any])
        try #require(items.count == reference.queries.count)
        for (item, query) in zip(items, reference.queries) {
            let rows = try #require(matrix(item))
            let diff = try #require(
                maxAbsDifference(rows, query.embedding),
                "\(query.text): got \(shape(rows)), reference \(shape(query.embedding))")
            worst = max(worst, diff)
        }
        report("/embed/queries max abs difference to the reference: \(worst) (bound \(Self.queryTolerance))")
        #expect(worst <= Self.queryTolerance)
    }

    func checkImages(_ https: HTTPClient, _ reference: Reference) async throws {
        // Every fixture (PNG, JPEG, WebP, GIF; different sizes) in one request, in order.
        let all = try await https.postForm(
            "/embed/images", reference.images.map { .file(name: "files", path: $0.path, type: $0.content_type) })
        #expect(all.status == 200, "\(all)")
        let items = try #require(all.object?["embeddings"] as? [[String: Any]], "\(all)")
        try #require(items.count == reference.images.count)
        var worst = 0.0
        for (item, image) in zip(items, reference.images) {
            worst = max(worst, try compare(item, image))
        }
        // One image alone gives the same answer as inside the batch.
        let alone = try await https.postForm(
            "/embed/images", [.file(name: "files", path: reference.images[1].path, type: reference.images[1].content_type)])
        #expect(alone.status == 200, "\(alone)")
        let aloneItems = try #require(alone.object?["embeddings"] as? [[String: Any]])
        try #require(aloneItems.count == 1)
        worst = max(worst, try compare(aloneItems[0], reference.images[1]))
        report(
            "/embed/images max abs difference to the reference over \(reference.images.count + 1) images: \(worst) (bound \(Self.imageTolerance))"
        )
        #expect(worst <= Self.imageTolerance)
    }

    /// Checks one /embed/images item against the reference; returns the largest difference.
    func compare(_ item: [String: Any], _ image: Reference.Image) throws -> Double {
        let indices = try #require(item["image_patch_indices"] as? [Int], "\(image.file)")
        #expect(indices == image.image_patch_indices, "\(image.file): patch indices")
        #expect(item["image_patch_start"] as? Int == image.image_patch_indices.first, "\(image.file)")
        #expect(item["image_patch_len"] as? Int == image.image_patch_indices.count, "\(image.file)")
        let rows = try #require(matrix(item["embedding"]), "\(image.file): embedding")
        let diff = try #require(
            maxAbsDifference(rows, image.embedding),
            "\(image.file): got \(shape(rows)), reference \(shape(image.embedding))")
        report("  \(image.file) (\(image.width)x\(image.height), \(rows.count) tokens): max abs difference \(diff)")
        return diff
    }

    func checkHeatmaps(_ https: HTTPClient, _ reference: Reference) async throws {
        var worst = 0.0
        for expected in reference.heatmaps {
            let image = try reference.image(expected.file)
            let answer = try await https.postForm(
                "/heatmap",
                [
                    .text(name: "query", value: expected.query),
                    .file(name: "image", path: image.path, type: image.content_type),
                    .text(name: "aggregate", value: expected.aggregate),
                ])
            #expect(answer.status == 200, "\(answer)")
            let object = try #require(answer.object, "\(answer)")
            #expect(object["image_width"] as? Int == image.width && object["image_height"] as? Int == image.height)
            #expect(object["grid_rows"] as? Int == expected.grid_rows, "grid follows the tile layout (\(image.tile_rows) rows of tiles)")
            #expect(
                object["grid_columns"] as? Int == expected.grid_columns,
                "grid follows the tile layout (\(image.tile_columns) columns of tiles)")
            #expect(object["aggregate"] as? String == expected.aggregate)
            let low = try #require((object["min_score"] as? NSNumber)?.doubleValue)
            let high = try #require((object["max_score"] as? NSNumber)?.doubleValue)
            #expect(
                abs(low - expected.min_score) <= Self.heatmapTolerance && abs(high - expected.max_score) <= Self.heatmapTolerance,
                "scores \(low)...\(high), reference \(expected.min_score)...\(expected.max_score)")
            let grid = try #require(matrix(object["heatmap"]))
            let diff = try #require(
                maxAbsDifference(grid, expected.heatmap), "heatmap \(shape(grid)), reference \(shape(expected.heatmap))")
            worst = max(worst, diff)
        }
        report("/heatmap max abs difference to the reference: \(worst) (bound \(Self.heatmapTolerance))")
        #expect(worst <= Self.heatmapTolerance)

        // Any other aggregate means max.
        let image = reference.images[0]
        let other = try await https.postForm(
            "/heatmap",
            [
                .text(name: "query", value: "revenue"), .file(name: "image", path: image.path, type: image.content_type),
                .text(name: "aggregate", value: "median"),
            ])
        #expect(other.status == 200 && other.object?["aggregate"] as? String == "max", "\(other)")
    }

    func checkDocumentation(_ https: HTTPClient) async throws {
        let openAPI = try await https.get("/openapi.json")
        #expect(openAPI.status == 200, "\(openAPI)")
        let document = try #require(openAPI.object)
        #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(document["paths"] as? [String: Any])
        for path in ["/", "/health", "/info", "/patches", "/embed/queries", "/embed/images", "/heatmap"] {
            #expect(paths[path] != nil, "/openapi.json describes \(path)")
        }
        let docs = try await https.get("/docs")
        #expect(docs.status == 200)
        #expect(docs.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(docs.text.contains("syntaxHighlight: false"), "syntax highlighting off")
        #expect(docs.text.contains("/openapi.json"))
        #expect(!docs.text.contains("cdn."), "no CDN: the page works offline")
        // The Swagger UI assets come from the packaged distribution (scripts/setup.sh puts it in .deps/).
        let bundle = try await https.get("/docs/swagger-ui-bundle.js")
        #expect(bundle.status == 200 && bundle.body.count > 100_000, "swagger-ui-bundle.js: \(bundle.status), \(bundle.body.count) bytes")
        let css = try await https.get("/docs/swagger-ui.css")
        #expect(css.status == 200 && css.headers["content-type"]?.hasPrefix("text/css") == true)
    }

    func checkUnknownPathsAndMethods(_ https: HTTPClient) async throws {
        let missing = try await https.get("/no/such/path")
        #expect(missing.status == 404 && missing.detail == "Not Found", "\(missing)")
        #expect(missing.headers["content-type"]?.hasPrefix("application/json") == true)
        let wrongMethod = try await https.get("/embed/queries")
        #expect(wrongMethod.status == 405 && wrongMethod.detail == "Method Not Allowed", "\(wrongMethod)")
        #expect(wrongMethod.headers["allow"]?.contains("POST") == true, "\(wrongMethod.headers)")
        let delete = try await https.request("/health", ["-X", "DELETE"])
        #expect(delete.status == 405, "\(delete)")
        let postRoot = try await https.postJSON("/", "{}")
        #expect(postRoot.status == 405, "\(postRoot)")
    }
}

func jsonText(_ value: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]), as: UTF8.self)
}
