/// An HTTP request as a route sees it, built from FastCGI (CGI/1.1) parameters and
/// the fully read body. A plain value: routes can be tested without libfcgi.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The decoded path used for routing (no query string), e.g. `/embed/images`.
    public var path: String
    /// The query string without `?`, still percent-encoded.
    public var query: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Every FastCGI parameter as received (`REMOTE_ADDR`, `REQUEST_ID`, …).
    public var parameters: [String: String]
    /// Set when the web server abandons the request (see `FastCGIServer`); never set for a
    /// request built outside the server.
    public var cancellation = RequestCancellation()

    public init(
        method: HTTPMethod, path: String, query: String = "", headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], parameters: [String: String] = [:]
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.parameters = parameters
    }

    /// The `Content-Type` header, if any.
    public var contentType: HeaderValue? {
        headers["content-type"].map(HeaderValue.init(parsing:))
    }

    /// Decoded `name=value` pairs of the query string, in order.
    public var queryItems: [(name: String, value: String)] {
        URLEncodedForm.pairs(Substring(query))
    }
}

extension HTTPRequest {
    /// Builds the request head from CGI/1.1 variables as nginx's `fastcgi_params` sends them.
    ///
    /// - method: `REQUEST_METHOD` (default `GET`).
    /// - path: `DOCUMENT_URI` (nginx's `$document_uri`: decoded and normalised), else
    ///   `SCRIPT_NAME` + `PATH_INFO`, else the decoded path part of `REQUEST_URI`.
    /// - headers: every `HTTP_*` variable (`HTTP_USER_AGENT` → `user-agent`) plus
    ///   `CONTENT_TYPE` and `CONTENT_LENGTH` when non-empty.
    public init(cgiParameters: [String: String], body: [UInt8] = []) {
        method = HTTPMethod(cgiParameters["REQUEST_METHOD"].flatMap { $0.isEmpty ? nil : $0 } ?? "GET")
        let requestURI = cgiParameters["REQUEST_URI"] ?? ""
        let uriPath = requestURI.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if let documentURI = cgiParameters["DOCUMENT_URI"], !documentURI.isEmpty {
            path = documentURI
        } else if let script = cgiParameters["SCRIPT_NAME"], !script.isEmpty || cgiParameters["PATH_INFO"] != nil {
            path = script + (cgiParameters["PATH_INFO"] ?? "")
        } else if !uriPath.isEmpty {
            path = PercentDecoding.decode(Substring(uriPath), plusAsSpace: false).map { HeaderText.decode($0) } ?? uriPath
        } else {
            path = "/"
        }
        if path.isEmpty { path = "/" }
        if let queryString = cgiParameters["QUERY_STRING"] {
            query = queryString
        } else if let mark = requestURI.firstIndex(of: "?") {
            query = String(requestURI[requestURI.index(after: mark)...])
        } else {
            query = ""
        }
        var headers = HTTPHeaders()
        for (name, value) in cgiParameters.sorted(by: { $0.key < $1.key }) where name.hasPrefix("HTTP_") {
            headers.add(name.dropFirst(5).replacingUnderscores(), value)
        }
        if let type = cgiParameters["CONTENT_TYPE"], !type.isEmpty { headers.set("content-type", type) }
        if let length = cgiParameters["CONTENT_LENGTH"], !length.isEmpty { headers.set("content-length", length) }
        self.headers = headers
        self.body = body
        self.parameters = cgiParameters
    }

    /// `CONTENT_LENGTH` as a number: `nil` when absent or empty; `.some(nil)` when not a
    /// non-negative integer.
    static func declaredLength(_ cgiParameters: [String: String]) -> Int?? {
        guard let text = cgiParameters["CONTENT_LENGTH"], !text.isEmpty else { return nil }
        guard let value = Int(text), value >= 0 else { return .some(nil) }
        return .some(value)
    }
}

extension Substring {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
