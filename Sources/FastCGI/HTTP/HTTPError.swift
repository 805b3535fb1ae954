/// An error a route throws to answer with FastAPI's `{"detail": "<message>"}` body
/// (FastAPI's `HTTPException`).
public struct HTTPError: Error, Sendable, Equatable {
    public var status: Int
    public var detail: String
    public var headers: HTTPHeaders

    public init(_ status: Int, _ detail: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    public var response: HTTPResponse {
        var response = HTTPResponse.detail(status, detail)
        for field in headers { response.headers.set(field.name, field.value) }
        return response
    }

    public static let notFound = HTTPError(404, "Not Found")
    public static let methodNotAllowed = HTTPError(405, "Method Not Allowed")
    /// FastAPI's wording when a body cannot be decoded at all (bad UTF-8, nesting, stream errors).
    public static let bodyParseError = HTTPError(400, "There was an error parsing the body")
    public static let payloadTooLarge = HTTPError(413, "Request body too large")
    public static let internalServerError = HTTPError(500, "Internal Server Error")
}
