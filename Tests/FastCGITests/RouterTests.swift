import Testing

@testable import FastCGI

@Suite struct RouterTests {
    struct Boom: Error {}

    final class ErrorLog: @unchecked Sendable {
        var errors: [String] = []
    }

    static func router(log: ErrorLog? = nil) -> Router {
        var router = Router()
        router.get("/health") { _ in HTTPResponse(json: ["status": "healthy"]) }
        router.post("/health") { _ in HTTPResponse(status: 201) }
        router.post("/fail") { _ in throw HTTPError(400, "No queries provided") }
        router.post("/invalid") { _ in throw ValidationError([.missing(["body", "x"], input: nil)]) }
        router.post("/crash") { _ in throw Boom() }
        if let log {
            router.onUnexpectedError = { error, request in log.errors.append("\(request.path): \(error)") }
        }
        return router
    }

    @Test func routesByExactPathAndMethod() {
        let router = Self.router()
        #expect(router.handle(HTTPRequest(method: .get, path: "/health")).status == 200)
        #expect(router.handle(HTTPRequest(method: .post, path: "/health")).status == 201)
        // Exact paths: no prefix match, no trailing-slash equivalence.
        #expect(router.handle(HTTPRequest(method: .get, path: "/health/")).status == 404)
        #expect(router.handle(HTTPRequest(method: .get, path: "/Health")).status == 404)
        #expect(router.routes.map(\.path) == ["/health", "/fail", "/invalid", "/crash"])
        #expect(router.routes.first?.methods == [.get, .post])
    }

    @Test func notFoundAndMethodNotAllowedLikeFastAPI() {
        let router = Self.router()
        let missing = router.handle(HTTPRequest(method: .get, path: "/nope"))
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self) == #"{"detail":"Not Found"}"#)
        #expect(missing.headers["content-type"] == "application/json")
        let wrong = router.handle(HTTPRequest(method: .delete, path: "/health"))
        #expect(wrong.status == 405)
        #expect(String(decoding: wrong.body, as: UTF8.self) == #"{"detail":"Method Not Allowed"}"#)
        #expect(wrong.headers["allow"] == "GET, POST")
        // No implicit HEAD for GET routes (FastAPI's APIRoute has none either).
        #expect(router.handle(HTTPRequest(method: .head, path: "/health")).status == 405)
        #expect(router.handle(HTTPRequest(method: "get", path: "/health")).status == 405)
    }

    @Test func thrownErrorsBecomeResponses() {
        let log = ErrorLog()
        let router = Self.router(log: log)
        let fail = router.handle(HTTPRequest(method: .post, path: "/fail"))
        #expect(fail.status == 400)
        #expect(String(decoding: fail.body, as: UTF8.self) == #"{"detail":"No queries provided"}"#)
        let invalid = router.handle(HTTPRequest(method: .post, path: "/invalid"))
        #expect(invalid.status == 422)
        #expect(String(decoding: invalid.body, as: UTF8.self).hasPrefix(#"{"detail":[{"type":"missing","loc":["body","x"]"#))
        let crash = router.handle(HTTPRequest(method: .post, path: "/crash"))
        #expect(crash.status == 500)
        #expect(String(decoding: crash.body, as: UTF8.self) == #"{"detail":"Internal Server Error"}"#)
        #expect(log.errors.count == 1 && log.errors[0].hasPrefix("/crash"))
    }
}
