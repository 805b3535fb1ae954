import FastCGI
import Foundation
import POSIX

/// The HTTP API of ../shared/API.md on top of an `EmbeddingEngine`.
public struct Routes: Sendable {
    public let state: ServiceState
    public let limits: RequestLimits
    public let apiVersion: String
    /// Folder holding swagger-ui-bundle.js and swagger-ui.css, if available.
    public let swaggerUIDirectory: URL?
    /// When enabled, every route but `/health` needs `Authorization: Bearer <key>`.
    public let apiKeys: APIKeys

    public init(state: ServiceState, limits: RequestLimits, apiVersion: String, swaggerUIDirectory: URL?, apiKeys: APIKeys = APIKeys()) {
        self.state = state
        self.limits = limits
        self.apiVersion = apiVersion
        self.swaggerUIDirectory = swaggerUIDirectory
        self.apiKeys = apiKeys
    }

    public func router(onUnexpectedError: (@Sendable (any Error, HTTPRequest) -> Void)? = nil) -> Router {
        var router = Router()
        router.onUnexpectedError = onUnexpectedError
        // /health stays open: load balancers and compose health checks carry no key.
        router.get("/health") { _ in health() }
        router.get("/", authenticated { _ in root() })
        router.get("/info", authenticated { _ in try info() })
        router.post("/patches", authenticated { try patches($0) })
        router.post("/embed/queries", authenticated { try embedQueries($0) })
        router.post("/embed/images", authenticated(releasingHeap: true) { try embedImages($0) })
        router.post("/heatmap", authenticated(releasingHeap: true) { try heatmap($0) })
        let openAPI = Array(OpenAPIDocument.json(version: apiVersion).utf8)
        router.get("/openapi.json", authenticated { _ in HTTPResponse(json: openAPI) })
        router.get("/docs", authenticated { _ in HTTPResponse(text: OpenAPIDocument.docsPage, contentType: "text/html; charset=utf-8") })
        for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
            router.get("/docs/\(asset)", authenticated { _ in try swaggerAsset(asset) })
        }
        // Open like /health: a browser cannot send a key with a navigation; the page's API calls carry one (DemoPage).
        router.get("/demo") { _ in DemoPage.page() }
        router.get("/demo/demo.js") { _ in DemoPage.script() }
        return router
    }

    /// `route`, answered only for a request carrying one of `apiKeys` (when any are set);
    /// otherwise 401 before any of the request is looked at. A large request that is
    /// refused gives its memory back (`HeapRelease`), and so does every request of a route
    /// `releasingHeap` (the image routes: a small compressed page decodes to tens of MB).
    private func authenticated(releasingHeap: Bool = false, _ route: @escaping Router.Route) -> Router.Route {
        let keys = apiKeys
        return { request in
            if keys.isEnabled {
                guard let header = request.headers["authorization"] else { throw APIKeys.unauthorized("Not authenticated") }
                guard keys.accepts(authorization: header) else { throw APIKeys.unauthorized("Invalid API key") }
            }
            if releasingHeap {
                defer { HeapRelease.trim() }
                return try route(request)
            }
            guard request.body.count >= HeapRelease.minimumBodyBytes else { return try route(request) }
            do {
                let response = try route(request)
                if response.status >= 400 { HeapRelease.trim() }
                return response
            } catch {
                HeapRelease.trim()
                throw error
            }
        }
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
        case .downloading(_, let progress):
            json.key("detail")
            json.value(Self.publicDetail(readiness))
            if let progress {
                json.key("progress")
                json.value(progress)
            }
        case .loading, .failed:
            json.key("detail")
            json.value(Self.publicDetail(readiness))
        }
        json.endObject()
        var response = HTTPResponse(status: 503, writer: json)
        response.headers.set("retry-after", "5")
        return response
    }

    /// The engine, or 503 with the reason the model is not ready.
    func engine() throws -> any EmbeddingEngine {
        let readiness = state.readiness
        switch readiness {
        case .ready(let engine): return engine
        case .downloading, .loading:
            throw HTTPError(503, "Model is not ready yet: \(Self.publicDetail(readiness))", headers: retryAfter)
        case .failed:
            throw HTTPError(503, "Model failed to load: \(Self.publicDetail(readiness))")
        }
    }

    /// What clients may see of a readiness: the phase and the progress only. The details
    /// (cache paths, hub URLs, library errors) stay in the worker's and master's logs,
    /// which record them where they arise (Worker.prepare, Master).
    static func publicDetail(_ readiness: Readiness) -> String {
        switch readiness {
        case .ready: return "ready"
        case .downloading(_, let progress?): return "downloading \(Int((min(max(progress, 0), 1) * 100 + 1e-9).rounded(.down)))%"
        case .downloading: return "downloading"
        case .loading: return "loading"
        case .failed: return "model preparation failed (see the service log)"
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
        json.key("text_kernel")
        if let textKernel = info.textKernel { json.value(textKernel) } else { json.null() }
        json.key("vision_kernel")
        if let visionKernel = info.visionKernel { json.value(visionKernel) } else { json.null() }
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
        let body = try jsonObject(request)
        var reader = FieldReader()
        var sizes: [(width: Int, height: Int)?] = []
        if let list = reader.required(body, "dimensions", at: ["body"]).flatMap({ reader.list($0, at: ["body", "dimensions"]) }) {
            // The count is checked before any item is validated (decided before the work).
            guard list.count <= limits.maxDimensions else {
                throw HTTPError(400, "Too many dimensions: \(list.count) (at most \(limits.maxDimensions) per request)")
            }
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
        let body = try jsonObject(request)
        var reader = FieldReader()
        let field = reader.required(body, "queries", at: ["body"])
        // The count is checked before any item is validated (decided before the work).
        if case .array(let items)? = field, items.count > limits.maxQueries {
            throw tooManyQueries(items.count)
        }
        let queries = field.flatMap { reader.stringOrStringList($0, at: ["body", "queries"]) }
        let optionFields = Self.optionalStrings(body, ["encoding", "dtype"], reader: &reader)
        try reader.finish()
        guard let queries, !queries.isEmpty else { throw HTTPError(400, "No queries provided") }
        guard queries.count <= limits.maxQueries else { throw tooManyQueries(queries.count) }
        for (index, query) in queries.enumerated() { try checkQueryLength(query, index: index) }
        let encoding = try EmbeddingOptions.parse(query: request.queryItems, body: optionFields, pooling: false).encoding
        let vectors = try mapInputErrors { try engine().embedQueries(queries, cancellation: request.cancellation) }
        var json = JSONWriter(capacity: vectors.reduce(64) { $0 + encoding.estimatedBytes(floats: $1.values.count) })
        json.beginObject()
        json.key("embeddings")
        json.beginArray()
        for item in vectors {
            item.values.withUnsafeBufferPointer { encoding.write($0, rows: item.tokenCount, dim: item.dim, into: &json) }
        }
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
        let options = try EmbeddingOptions.parse(
            query: request.queryItems, body: try Self.textFields(form, ["encoding", "dtype", "pool_factor"]), pooling: true)
        let embeddings = try mapInputErrors { try engine().embedImages(files.map { Array($0.data) }, cancellation: request.cancellation) }
        // Pooling runs here, on the request thread, outside the engine's model lock.
        let items = embeddings.map { PooledImageEmbedding(pooling: $0, factor: options.poolFactor) }
        let encoding = options.encoding
        var json = JSONWriter(capacity: items.reduce(64) { $0 + encoding.estimatedBytes(floats: $1.vectors.values.count) })
        json.beginObject()
        json.key("embeddings")
        json.beginArray()
        for item in items {
            json.beginObject()
            json.key("embedding")
            item.vectors.values.withUnsafeBufferPointer {
                encoding.write($0, rows: item.vectors.tokenCount, dim: item.vectors.dim, into: &json)
            }
            json.key("image_patch_start")
            json.value(item.imagePatchIndices.first ?? 0)
            json.key("image_patch_len")
            json.value(item.imagePatchIndices.count)
            json.key("image_patch_indices")
            json.beginArray()
            for index in item.imagePatchIndices { json.value(index) }
            json.endArray()
            // Only when pooled, so that the default answer stays byte-identical.
            if item.poolFactor > 1 {
                json.key("pool_factor")
                json.value(item.poolFactor)
            }
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
        try checkQueryLength(text, index: nil)
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

    /// The body as a JSON object, parsed with the value budget of `limits`.
    private func jsonObject(_ request: HTTPRequest) throws -> JSONObject {
        try JSONBody.object(of: request, parser: JSONParser(maxValues: limits.maxJSONValues))
    }

    private func tooManyQueries(_ count: Int) -> HTTPError {
        HTTPError(400, "Too many queries: \(count) (at most \(limits.maxQueries) per request)")
    }

    /// Bounds a query in bytes before it reaches the tokenizer (an 8 MB query cost 3.5 s
    /// and ~490 MB of transient memory before being refused for its token count).
    private func checkQueryLength(_ query: String, index: Int?) throws {
        let bytes = query.utf8.count
        guard bytes > limits.maxQueryBytes else { return }
        let which = index.map { "Query \($0)" } ?? "Query"
        throw HTTPError(400, "\(which) is \(bytes) bytes long (at most \(limits.maxQueryBytes) bytes per query)")
    }

    private func parseForm(_ request: HTTPRequest) throws -> FormData {
        do {
            return try FormData.parse(request, limits: limits.multipart)
        } catch {
            throw HTTPError(400, "Malformed multipart body: \(error)")
        }
    }

    /// The members `names` of `body` that are strings (null counts as absent); any other
    /// type is recorded as pydantic's `string_type`.
    private static func optionalStrings(_ body: JSONObject, _ names: [String], reader: inout FieldReader) -> [String: String] {
        var values: [String: String] = [:]
        for name in names {
            guard let value = body[name], value != .null else { continue }
            if let text = reader.string(value, at: ["body", .key(name)]) { values[name] = text }
        }
        return values
    }

    /// The text fields `names` of `form` (the last of each, as Starlette picks); a file
    /// upload under one of these names is a 400.
    private static func textFields(_ form: FormData, _ names: [String]) throws -> [String: String] {
        var values: [String: String] = [:]
        for name in names {
            guard let part = form.last(name) else { continue }
            guard !part.isFile else { throw HTTPError(400, "Field \(name) must be a text field, not a file upload") }
            values[name] = part.text
        }
        return values
    }

    private func missing(_ field: String) -> ValidationError {
        ValidationError([.missing(["body", .key(field)], input: nil)])
    }

    private func requireImageType(_ part: FormPart) throws {
        guard let type = part.contentType?.lowercased(), type.hasPrefix("image/") else {
            throw HTTPError(400, "File \(ErrorEcho.prefix(part.filename ?? "")) is not an image")
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
/// Each is checked before the work it bounds: counts before items are validated, bytes
/// before a query is tokenized, values while the JSON is parsed.
public struct RequestLimits: Sendable {
    public static let defaultMaxQueryBytes = 16 * 1024
    public static let defaultMaxDimensions = 1024

    public var maxQueries: Int
    public var maxImages: Int
    /// UTF-8 bytes per query (`COLPALI_MAX_QUERY_BYTES`). 16 KiB is ~4000 tokens of
    /// English, far beyond any retrieval query, and well inside the text tower's 8192 positions.
    public var maxQueryBytes: Int
    /// Items of a `/patches` request.
    public var maxDimensions: Int
    /// JSON values (any depth) in a JSON body; past it the parser only counts.
    public var maxJSONValues: Int
    public var multipart: MultipartLimits

    public init(
        maxQueries: Int, maxImages: Int, maxBodyBytes: Int, maxQueryBytes: Int = RequestLimits.defaultMaxQueryBytes,
        maxDimensions: Int = RequestLimits.defaultMaxDimensions
    ) {
        self.maxQueries = maxQueries
        self.maxImages = maxImages
        self.maxQueryBytes = maxQueryBytes
        self.maxDimensions = maxDimensions
        // Three values per dimension item ({width, height}), one per query, plus slack for
        // the envelope and for requests that are refused with a clear count by the route.
        self.maxJSONValues = max(4 * maxDimensions, maxQueries) + 4096
        var multipart = MultipartLimits()
        multipart.maxBodyBytes = maxBodyBytes
        multipart.maxParts = max(maxImages + 8, multipart.maxParts)
        self.multipart = multipart
    }
}

/// When a request's memory goes back to the kernel: after every request of the image routes,
/// served or not, and after any other large request that was refused.
///
/// The model keeps freed buffers in the heap on purpose (AllocatorTuning.keepLargeBuffers: no
/// mmap-backed allocation, a 1 GB trim threshold), so without a trim what a request allocated
/// stays resident. Measured before the request bounds: two rounds of the issue's four attacks
/// left a worker at 2.9 GB, then 5.5 GB. A letter page decodes and tiles to tens of MB: served
/// again and again by one worker it grew ~55 MB per request (full-size model: 64 MB anonymous
/// after load, 363 after one page, 724 after seven, 126 after one malloc_trim). The trim
/// reaches all of it because workers allocate from one arena (AllocatorTuning.useOneArena). It
/// also returns the model thread's free activation buffers; the next pass faults them in once,
/// where keepLargeBuffers avoids doing so in every layer.
enum HeapRelease {
    /// Bodies below this cost too little to be worth a trim (one walk of the heap).
    static let minimumBodyBytes = 1 << 20

    static func trim() { AllocatorTuning.releaseFreeMemory() }
}
