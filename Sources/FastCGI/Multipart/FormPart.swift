/// One form field or uploaded file.
///
/// `data` is a slice of the request body (no copy). As in Starlette, a part is a file
/// exactly when its Content-Disposition has a filename (even an empty one); a part
/// without a filename is a text field whatever its Content-Type says.
public struct FormPart: Sendable {
    public var name: String
    /// `filename*` (RFC 8187) when present and decodable, else `filename`. Windows paths
    /// sent by old browsers (`C:\dir\a.png`) are cut to their last component.
    public var filename: String?
    /// The part's `Content-Type` header as sent, or `nil` (files without one are common).
    public var contentType: String?
    public var headers: HTTPHeaders
    public var data: ArraySlice<UInt8>

    public init(
        name: String, filename: String? = nil, contentType: String? = nil, headers: HTTPHeaders = HTTPHeaders(), data: ArraySlice<UInt8>
    ) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.headers = headers
        self.data = data
    }

    public var isFile: Bool { filename != nil }

    /// The content as text: UTF-8, or ISO-8859-1 when not valid UTF-8 (Starlette's fallback).
    public var text: String { HeaderText.decode(data) }

    /// The media type of `contentType`, lower-cased, without parameters (`image/png`).
    public var mediaType: String? { contentType.map { HeaderValue(parsing: $0).value } }
}

/// The fields and files of a form body, in order.
public struct FormData: Sendable {
    public var parts: [FormPart]

    public init(parts: [FormPart] = []) {
        self.parts = parts
    }

    /// All parts called `name`, in order.
    public func all(_ name: String) -> [FormPart] { parts.filter { $0.name == name } }

    /// The last part called `name` (Starlette's `form[name]` picks the last one).
    public func last(_ name: String) -> FormPart? { parts.last { $0.name == name } }

    public var isEmpty: Bool { parts.isEmpty }
}
