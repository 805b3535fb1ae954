/// Exact-path, exact-method routing with FastAPI's answers for the rest:
/// 404 `{"detail":"Not Found"}` for an unknown path and 405
/// `{"detail":"Method Not Allowed"}` with an `Allow` header for a known path asked with
/// another method. Like FastAPI's `APIRoute`, a GET route does not answer HEAD.
///
/// Routes throw to answer errors: `HTTPError` → its status and `{"detail": …}`,
/// `ValidationError` → 422 with the issue list, anything else → 500
/// `{"detail":"Internal Server Error"}` (and `onUnexpectedError` hears about it).
public struct Router: RequestHandler {
    public typealias Route = @Sendable (HTTPRequest) throws -> HTTPResponse

    private struct Entry: Sendable {
        var methods: [(method: HTTPMethod, route: Route)]
    }

    private var table: [String: Entry] = [:]
    private var order: [String] = []
    /// Called with errors that are neither `HTTPError` nor `ValidationError`.
    public var onUnexpectedError: (@Sendable (any Error, HTTPRequest) -> Void)?

    public init() {}

    /// Registers `route` for `method` on `path`. Registering the same pair twice replaces it.
    public mutating func add(_ method: HTTPMethod, _ path: String, _ route: @escaping Route) {
        var entry = table[path] ?? Entry(methods: [])
        if table[path] == nil { order.append(path) }
        entry.methods.removeAll { $0.method == method }
        entry.methods.append((method: method, route: route))
        table[path] = entry
    }

    public mutating func get(_ path: String, _ route: @escaping Route) { add(.get, path, route) }
    public mutating func post(_ path: String, _ route: @escaping Route) { add(.post, path, route) }

    /// Registered `(path, methods)` in registration order (for documentation endpoints).
    public var routes: [(path: String, methods: [HTTPMethod])] {
        order.map { path in (path: path, methods: table[path]?.methods.map(\.method) ?? []) }
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard let entry = table[request.path] else { return HTTPError.notFound.response }
        guard let match = entry.methods.first(where: { $0.method == request.method }) else {
            var response = HTTPError.methodNotAllowed.response
            response.headers.set("allow", entry.methods.map(\.method.rawValue).joined(separator: ", "))
            return response
        }
        do {
            return try match.route(request)
        } catch let error as HTTPError {
            return error.response
        } catch let error as ValidationError {
            return error.response
        } catch {
            onUnexpectedError?(error, request)
            return HTTPError.internalServerError.response
        }
    }
}
