import Testing

@testable import FastCGI

/// A router built only from this module's helpers, shaped like the old FastAPI service,
/// answers every request of fastapi.json with FastAPI's status, `Allow` header and body.
@Suite struct FastAPICompatibilityTests {
    static func mimicRouter() -> Router {
        var router = Router()
        router.get("/") { _ in HTTPResponse(json: ["message": "ok"]) }
        router.post("/embed/queries") { request in
            let body = try JSONBody.object(of: request)
            var reader = FieldReader()
            var queries: JSONValue = .null
            if let value = reader.required(body, "queries", at: ["body"]),
                reader.stringOrStringList(value, at: ["body", "queries"]) != nil
            {
                queries = value
            }
            try reader.finish()
            return HTTPResponse(json: .object(JSONObject([(key: "queries", value: queries)])))
        }
        router.post("/patches") { request in
            let body = try JSONBody.object(of: request)
            var reader = FieldReader()
            var results: [JSONValue] = []
            if let value = reader.required(body, "dimensions", at: ["body"]),
                let items = reader.list(value, at: ["body", "dimensions"])
            {
                for (index, item) in items.enumerated() {
                    let location: [LocationElement] = ["body", "dimensions", .index(index)]
                    guard let dimension = reader.model(item, at: location) else { continue }
                    let width = reader.required(dimension, "width", at: location).flatMap { reader.int($0, at: location + ["width"]) }
                    let height = reader.required(dimension, "height", at: location).flatMap { reader.int($0, at: location + ["height"]) }
                    if let width, let height { results.append(["width": .int(width), "height": .int(height)]) }
                }
            }
            try reader.finish()
            return HTTPResponse(json: ["results": .array(results)])
        }
        router.post("/embed/images") { request in
            let form = try Self.form(request)
            let files = form.all("files")
            if files.isEmpty { throw ValidationError([.missing(["body", "files"], input: nil)]) }
            var reader = FieldReader()
            for (index, part) in files.enumerated() where !part.isFile {
                reader.record(Self.notAFile(part, at: ["body", "files", .index(index)]))
            }
            try reader.finish()
            return HTTPResponse(json: ["files": .array(files.map(Self.describe))])
        }
        router.post("/heatmap") { request in
            let form = try Self.form(request)
            var reader = FieldReader()
            // FastAPI treats an empty form value as missing.
            let query = form.last("query").flatMap { $0.isFile || $0.data.isEmpty ? nil : $0.text }
            if query == nil { reader.record(.missing(["body", "query"], input: nil)) }
            let image = form.last("image")
            if image == nil { reader.record(.missing(["body", "image"], input: nil)) }
            if let image, !image.isFile { reader.record(Self.notAFile(image, at: ["body", "image"])) }
            try reader.finish()
            let aggregate = form.last("aggregate").map(\.text).flatMap { $0.isEmpty ? nil : $0 } ?? "max"
            return HTTPResponse(json: [
                "query": .string(query ?? ""), "image": describe(image!), "aggregate": .string(aggregate),
            ])
        }
        return router
    }

    static func form(_ request: HTTPRequest) throws -> FormData {
        do {
            return try FormData.parse(request)
        } catch {
            throw error.httpError
        }
    }

    static func describe(_ part: FormPart) -> JSONValue {
        [.string(part.filename ?? ""), part.contentType.map(JSONValue.string) ?? .null, .int(part.data.count)]
    }

    static func notAFile(_ part: FormPart, at location: [LocationElement]) -> ValidationIssue {
        ValidationIssue(
            type: "value_error", location: location, message: "Value error, Expected UploadFile, received: <class 'str'>",
            input: .string(part.text), context: JSONObject([(key: "error", value: .object(JSONObject()))]))
    }

    @Test func answersLikeFastAPI() throws {
        let router = Self.mimicRouter()
        let cases = try Fixture.json("fastapi.json").arrayValue
        #expect(cases.count > 30)
        for entry in cases {
            let method = HTTPMethod(try #require(entry["method"]?.stringValue))
            let path = try #require(entry["path"]?.stringValue)
            var headers = HTTPHeaders()
            if case .object(let fields) = entry["headers"] {
                for member in fields.members { headers.add(member.key, member.value.stringValue ?? "") }
            }
            let body = try Fixture.bytes(base64: try #require(entry["body"]?.stringValue))
            let request = HTTPRequest(method: method, path: path, headers: headers, body: body)
            let response = router.handle(request)
            let label = "\(method) \(path) \(String(decoding: body.prefix(60), as: UTF8.self))"
            #expect(response.status == entry["status"]?.intValue, "\(label)")
            #expect(response.headers["allow"] == entry["allow"]?.stringValue, "\(label)")
            guard method != .head else { continue }  // no body in a HEAD answer
            let expected = try #require(entry["response"])
            let ours = try JSONParser().parse(response.body)
            #expect(ours == expected, "\(label): \(String(decoding: response.body, as: UTF8.self))")
        }
    }
}
