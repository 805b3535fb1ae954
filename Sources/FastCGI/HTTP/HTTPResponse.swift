/// A complete response: status, headers and body bytes. Routes return values;
/// the FastCGI layer serialises them (`cgiHead`), so routes never touch libfcgi.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `application/json` bytes (as FastAPI's `JSONResponse` labels them).
    public init(status: Int = 200, json: [UInt8]) {
        self.init(status: status, headers: HTTPHeaders([("content-type", "application/json")]), body: json)
    }

    public init(status: Int = 200, json: JSONValue) {
        self.init(status: status, json: json.jsonBytes)
    }

    public init(status: Int = 200, writer: JSONWriter) {
        self.init(status: status, json: writer.bytes)
    }

    public init(status: Int = 200, text: String, contentType: String = "text/plain; charset=utf-8") {
        self.init(status: status, headers: HTTPHeaders([("content-type", contentType)]), body: Array(text.utf8))
    }

    /// FastAPI's error shape: `{"detail":"<message>"}`.
    public static func detail(_ status: Int, _ message: String) -> HTTPResponse {
        var writer = JSONWriter(capacity: message.utf8.count + 16)
        writer.beginObject()
        writer.key("detail")
        writer.value(message)
        writer.endObject()
        return HTTPResponse(status: status, writer: writer)
    }

    /// The CGI response head a FastCGI responder writes before the body:
    /// `Status: 200 OK`, the headers, `Content-Length`, and an empty line.
    /// CR and LF inside names or values are dropped so a value can never start a new header.
    public var cgiHead: [UInt8] {
        var head = "Status: \(status) \(HTTPStatus.reason(status))\r\n"
        for field in headers where field.name != "content-length" && field.name != "status" {
            head += "\(Self.clean(field.name)): \(Self.clean(field.value))\r\n"
        }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8)
    }

    private static func clean(_ text: String) -> String {
        guard text.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return text }
        return String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }.map(Character.init))
    }
}
