import FastCGI

/// `/metrics` (issue 13): the answer of a `MasterResponder` in the master, on its own socket in
/// the run directory (`colmodernvbert-metrics.sock`), rendering `PoolMetrics`. nginx routes
/// `location = /metrics` there behind its allow/deny lines; this answer checks `REMOTE_ADDR`
/// against the same list and answers 403 otherwise. No API key: the allowlist is what protects
/// it (scrapers carry none).
public struct MetricsAnswer: RequestHandler {
    public let metrics: PoolMetrics
    public let allow: MetricsAllowList

    /// Prometheus' text exposition format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public init(metrics: PoolMetrics, allow: MetricsAllowList) {
        self.metrics = metrics
        self.allow = allow
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard let remote = request.parameters["REMOTE_ADDR"], allow.allows(remote) else {
            return .detail(403, "Forbidden: /metrics is served only to COLPALI_METRICS_ALLOW")
        }
        guard request.method == .get || request.method == .head else {
            var response = HTTPError.methodNotAllowed.response
            response.headers.set("allow", "GET, HEAD")
            return response
        }
        var response = HTTPResponse(status: 200, body: request.method == .head ? [] : metrics.render())
        response.headers.set("content-type", Self.contentType)
        response.headers.set("cache-control", "no-store")
        return response
    }
}
