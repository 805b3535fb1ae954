/// Why a form body was refused. Every case is answered 400 with `message` as the
/// detail (FastAPI answers malformed multipart with 400 too); none is a crash.
public enum MultipartError: Error, Equatable, Sendable {
    case missingBoundary
    case invalidBoundary
    /// No `--boundary` line anywhere in the body.
    case noOpeningBoundary
    /// The body ended inside a part or before the closing `--boundary--`.
    case unexpectedEnd
    /// A delimiter line followed by something other than `--`, spaces, or CRLF.
    case malformedDelimiter
    case malformedHeader(String)
    /// No Content-Disposition, or one without `name` (Starlette's wording for both).
    case missingName
    case headersTooLarge(limit: Int)
    case tooManyParts(limit: Int)
    case fieldTooLarge(limit: Int)
    case bodyTooLarge(limit: Int)
    case malformedURLEncoding

    public var message: String {
        switch self {
        case .missingBoundary: return "Missing boundary in multipart."
        case .invalidBoundary: return "Invalid boundary in multipart."
        case .noOpeningBoundary: return "Invalid multipart data: no opening boundary."
        case .unexpectedEnd: return "Invalid multipart data: body ended before the closing boundary."
        case .malformedDelimiter: return "Invalid multipart data: malformed boundary line."
        case .malformedHeader(let detail): return "Invalid multipart data: malformed part header (\(detail))."
        case .missingName: return "The Content-Disposition header field \"name\" must be provided."
        case .headersTooLarge(let limit): return "Part headers exceeded maximum size of \(limit) bytes."
        case .tooManyParts(let limit): return "Too many parts. Maximum number of parts is \(limit)."
        case .fieldTooLarge(let limit): return "Field exceeded maximum size of \(limit / 1024)KB."
        case .bodyTooLarge(let limit): return "Form body exceeded maximum size of \(limit) bytes."
        case .malformedURLEncoding: return "Invalid form data: malformed percent-encoding."
        }
    }

    /// The 400 response FastAPI would give.
    public var httpError: HTTPError { HTTPError(400, message) }
}
