import FastCGI
import Foundation

/// The HTTP API of ../shared/API.md on top of an `EmbeddingEngine`.
public struct Routes: Sendable {
    public let state: ServiceState
    public let limits: RequestLimits
    public let apiVersion: String
    /// Folder holding swagger-ui-bundle.js and swagger-ui.css, if available.
    public let swaggerUIDirectory: URL?

    public init(state: ServiceState, limits: RequestLimits, apiVersion: String, swaggerUIDirectory: URL?) {
        self.state = state
        self.limits = limits
        self.apiVersion = apiVersion
        self.swaggerUIDirectory = swaggerUIDirectory
    }

    public func router(onUnexpectedError: (@Sendable (any Error, HTTPRequest) -> Void)? = nil) -> Router {
        var router = Router()
        router.onUnexpectedError = onUnexpectedError
        router.get("/") { _ in root() }
        router.get("/health") { _ in health() }
        router.get("/info") { _ in try info() }
        router.post("/patches") { try patches($0) }
        router.post("/embed/queries") { try embedQueries($0) }
        router.post("/embed/images") { try embedImages($0) }
        router.post("/heatmap") { try heatmap($0) }
        let openAPI = Array(OpenAPIDocument.json(version: apiVersion).utf8)
        router.get("/openapi.json") { _ in HTTPResponse(json: openAPI) }
        router.get("/docs") { _ in HTTPResponse(text: OpenAPIDocument.docsPage, contentType: "text/html; charset=utf-8") }
        for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
            router.get("/docs/\(asset)") { _ in try swaggerAsset(asset) }
        }
        return router
    }

    // MARK: - Service

    func root() -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        json.key("message")
        json.value("ColModernVBert Embedding API")
        json.key("version")
        json.value(apiVersion)
        json.endObject()
        return HTTPResponse(writer: json)
    }

    func health() -> HTTPResponse {
        let readiness = state.readiness
        var json = JSONWriter()
        json.beginObject()
        json.key("status")
        json.value(readiness.statusName)
        switch readiness {
        case .ready(let engine):
            json.key("device")
            json.value(engine.info.device)
            json.endObject()
            return HTTPResponse(writer: json)
        case .downloading(let detail, let progress):
            json.key("detail")
            json.value(detail)
            if let progress {
                json.key("progress")
                json.value(progress)
            }
        case .loading(let detail), .failed(let detail):
            json.key("detail")
            json.value(detail)
        }
        json.endObject()
        var response = HTTPResponse(status: 503, writer: json)
        response.headers.set("retry-after", "5")
        return response
    }

    /// The engine, or 503 with the reason the model is not ready.
    func engine() throws -> any EmbeddingEngine {
        switch state.readiness {
        case .ready(let engine): return engine
        case .downloading(let detail, _), .loading(let detail):
            throw HTTPError(503, "Model is not ready yet: \(detail)", headers: retryAfter)
        case .failed(let detail):
            throw HTTPError(503, "Model failed to load: \(detail)")
        }
    }

    private var retryAfter: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.set("retry-after", "5")
        return headers
    }

    func info() throws -> HTTPResponse {
        let info = try engine().info
        var json = JSONWriter()
        json.beginObject()
        json.key("version")
        json.value(apiVersion)
        json.key("model_id")
        json.value(info.modelID)
        json.key("device")
        json.value(info.device)
        json.key("dtype")
        json.value(info.dtype)
        json.key("flash_attn")
        json.value(info.flashAttention)
        json.key("spatial_merge_size")
        json.null()
        json.key("dim")
        json.value(info.dim)
        json.key("image_token_id")
        json.value(info.imageTokenID)
        json.key("image_seq_len")
        json.value(info.imageSeqLen)
        json.key("vision_dtype")
        json.value(info.visionDType)
        json.key("text_dtype")
        json.value(info.textDType)
        json.key("cpu_isa")
        if let cpuISA = info.cpuISA { json.value(cpuISA) } else { json.null() }
        json.endObject()
        return HTTPResponse(writer: json)
    }

    func swaggerAsset(_ name: String) throws -> HTTPResponse {
        guard let directory = swaggerUIDirectory,
            let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
        else { throw HTTPError.notFound }
        let type = name.hasSuffix(".css") ? "text/css; charset=utf-8" : "application/javascript; charset=utf-8"
        var response = HTTPResponse(status: 200, body: Array(data))
        response.headers.set("content-type", type)
        response.headers.set("cache-control", "public, max-age=86400")
        return response
    }

    // MARK: - /patches

    func patches(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try JSONBody.object(of: request)
        var reader = FieldReader()
        var sizes: [(width: Int, height: Int)?] = []
        if let list = reader.required(body, "dimensions", at: ["body"]).flatMap({ reader.list($0, at: ["body", "dimensions"]) }) {
            for (index, item) in list.enumerated() {
                let location: [LocationElement] = ["body", "dimensions", .index(index)]
                guard let object = reader.model(item, at: location) else {
                    sizes.append(nil)
                    continue
                }
                let width = reader.required(object, "width", at: location).flatMap { reader.int($0, at: location + ["width"]) }
                let height = reader.required(object, "height", at: location).flatMap { reader.int($0, at: location + ["height"]) }
                sizes.append(width.flatMap { w in height.map { (w, $0) } })
            }
        }
        try reader.finish()
        let engine = try engine()
        var json = JSONWriter()
        json.beginObject()
        json.key("results")
        json.beginArray()
        for case (let width, let height)? in sizes {
            json.beginObject()
            json.key("width")
            json.value(width)
            json.key("height")
            json.value(height)
            switch engine.patchGrid(width: width, height: height) {
            case .grid(let x, let y):
                json.key("n_patches_x")
                json.value(x)
                json.key("n_patches_y")
                json.value(y)
            case .failure(let message):
                json.key("error")
                json.value(message)
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return HTTPResponse(writer: json)
    }

    // MARK: - /embed/queries

    func embedQueries(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try JSONBody.object(of: request)
        var reader = FieldReader()
        let queries = reader.required(body, "queries", at: ["body"]).flatMap {
            reader.stringOrStringList($0, at: ["body", "queries"])
        }
        try reader.finish()
        guard let queries, !queries.isEmpty else { throw HTTPError(400, "No queries provided") }
        guard queries.count <= limits.maxQueries else {
            throw HTTPError(400, "Too many queries: \(queries.count) (at most \(limits.maxQueries) per request)")
        }
        let vectors = try mapInputErrors { try engine().embedQueries(queries) }
        var json = JSONWriter(capacity: vectors.reduce(64) { $0 + $1.values.count * 12 })
        json.beginObject()
        json.key("embeddings")
        json.beginArray()
        for item in vectors { json.floatMatrix(item.values, columns: item.dim) }
        json.endArray()
        json.endObject()
        return HTTPResponse(writer: json)
    }

    // MARK: - /embed/images

    func embedImages(_ request: HTTPRequest) throws -> HTTPResponse {
        let form = try parseForm(request)
        let files = form.all("files")
        guard !files.isEmpty else { throw missing("files") }
        guard files.count <= limits.maxImages else {
            throw HTTPError(400, "Too many files: \(files.count) (at most \(limits.maxImages) per request)")
        }
        for file in files {
            guard file.isFile else { throw HTTPError(400, "Field files must be a file upload") }
            try requireImageType(file)
        }
        let embeddings = try mapInputErrors { try engine().embedImages(files.map { Array($0.data) }) }
        var json = JSONWriter(capacity: embeddings.reduce(64) { $0 + $1.vectors.values.count * 12 })
        json.beginObject()
        json.key("embeddings")
        json.beginArray()
        for item in embeddings {
            json.beginObject()
            json.key("embedding")
            json.floatMatrix(item.vectors.values, columns: item.vectors.dim)
            json.key("image_patch_start")
            json.value(item.imagePatchIndices.first ?? 0)
            json.key("image_patch_len")
            json.value(item.imagePatchIndices.count)
            json.key("image_patch_indices")
            json.beginArray()
            for index in item.imagePatchIndices { json.value(index) }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return HTTPResponse(writer: json)
    }

    // MARK: - /heatmap

    func heatmap(_ request: HTTPRequest) throws -> HTTPResponse {
        let form = try parseForm(request)
        var issues: [ValidationIssue] = []
        let query = form.last("query")
        let image = form.last("image")
        if query == nil { issues.append(.missing(["body", "query"], input: nil)) }
        if image == nil { issues.append(.missing(["body", "image"], input: nil)) }
        if !issues.isEmpty { throw ValidationError(issues) }
        guard let query, let image else { throw HTTPError.internalServerError }
        guard image.isFile else { throw HTTPError(400, "Field image must be a file upload") }
        try requireImageType(image)
        let text = query.text
        guard !text.isEmpty else { throw HTTPError(400, "No query provided") }
        let aggregate = HeatmapAggregate(parsing: form.last("aggregate")?.text)

        let engine = try engine()
        let (queryVectors, imageEmbedding) = try mapInputErrors {
            (try engine.embedQueries([text])[0], try engine.embedImages([Array(image.data)])[0])
        }
        let side = Int(Double(engine.info.imageSeqLen).squareRoot())
        let queryRows = (0..<queryVectors.tokenCount).map { Array(queryVectors.row($0)) }
        let patchRows = imageEmbedding.imagePatchIndices.map { Array(imageEmbedding.vectors.row($0)) }
        let map = try Heatmap.compute(
            query: queryRows, patches: patchRows, tileRows: imageEmbedding.tileRows,
            tileColumns: imageEmbedding.tileColumns, tokensPerSide: side, aggregate: aggregate)

        var json = JSONWriter(capacity: 64 + map.rows * map.columns * 12)
        json.beginObject()
        json.key("image_width")
        json.value(imageEmbedding.imageWidth)
        json.key("image_height")
        json.value(imageEmbedding.imageHeight)
        json.key("grid_rows")
        json.value(map.rows)
        json.key("grid_columns")
        json.value(map.columns)
        json.key("aggregate")
        json.value(aggregate.rawValue)
        json.key("min_score")
        json.value(map.minScore)
        json.key("max_score")
        json.value(map.maxScore)
        json.key("heatmap")
        json.floatMatrix(map.values.flatMap { $0 }, columns: map.columns)
        json.endObject()
        return HTTPResponse(writer: json)
    }

    // MARK: - Helpers

    private func parseForm(_ request: HTTPRequest) throws -> FormData {
        do {
            return try FormData.parse(request, limits: limits.multipart)
        } catch {
            throw HTTPError(400, "Malformed multipart body: \(error)")
        }
    }

    private func missing(_ field: String) -> ValidationError {
        ValidationError([.missing(["body", .key(field)], input: nil)])
    }

    private func requireImageType(_ part: FormPart) throws {
        guard let type = part.contentType?.lowercased(), type.hasPrefix("image/") else {
            throw HTTPError(400, "File \(part.filename ?? "") is not an image")
        }
    }

    /// Client mistakes found by the engine become 400 with their message.
    private func mapInputErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as InputError {
            throw HTTPError(400, error.message)
        }
    }
}

/// Per-request bounds enforced by the worker (nginx enforces the body size first).
public struct RequestLimits: Sendable {
    public var maxQueries: Int
    public var maxImages: Int
    public var multipart: MultipartLimits

    public init(maxQueries: Int, maxImages: Int, maxBodyBytes: Int) {
        self.maxQueries = maxQueries
        self.maxImages = maxImages
        var multipart = MultipartLimits()
        multipart.maxBodyBytes = maxBodyBytes
        multipart.maxParts = max(maxImages + 8, multipart.maxParts)
        self.multipart = multipart
    }
}
