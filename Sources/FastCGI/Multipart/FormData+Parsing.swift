extension FormData {
    /// The form in a request body, as Starlette's `request.form()` reads it:
    /// `multipart/form-data` and `application/x-www-form-urlencoded` are parsed; any other
    /// (or no) Content-Type gives an empty form, so required fields then report `missing`.
    public static func parse(_ request: HTTPRequest, limits: MultipartLimits = MultipartLimits()) throws(MultipartError) -> FormData {
        guard let contentType = request.contentType else { return FormData() }
        switch contentType.value {
        case "multipart/form-data":
            let boundary = try MultipartParser.boundary(of: contentType)
            return FormData(parts: try MultipartParser(limits: limits).parse(request.body, boundary: boundary))
        case "application/x-www-form-urlencoded":
            guard request.body.count <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
            let pairs = URLEncodedForm.pairs(Substring(decoding: request.body, as: UTF8.self))
            if pairs.count > limits.maxParts { throw .tooManyParts(limit: limits.maxParts) }
            var parts: [FormPart] = []
            for pair in pairs {
                let bytes = Array(pair.value.utf8)
                if bytes.count > limits.maxFieldBytes { throw .fieldTooLarge(limit: limits.maxFieldBytes) }
                parts.append(FormPart(name: pair.name, data: bytes[...]))
            }
            return FormData(parts: parts)
        default:
            return FormData()
        }
    }
}
