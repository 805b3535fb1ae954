/// What the FastCGI server calls for every request.
///
/// Called on one of the server's accept threads, one request per thread at a time, so
/// with N accept threads up to N requests are in the handler at once. The handler may
/// block (for example to wait until concurrent requests have been gathered into one
/// batched forward pass); the thread waits with it.
public protocol RequestHandler: Sendable {
    func handle(_ request: HTTPRequest) -> HTTPResponse
}

/// A handler from a closure (tests, small tools).
public struct ClosureHandler: RequestHandler {
    private let body: @Sendable (HTTPRequest) -> HTTPResponse

    public init(_ body: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.body = body
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        body(request)
    }
}
