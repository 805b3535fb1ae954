/// Reading a JSON request body the way FastAPI reads a body declared as a pydantic model,
/// so that the status codes and 422 shapes match the old service:
///
/// 1. empty body → 422 `missing` at `["body"]` with input `null`;
/// 2. a `Content-Type` that is not `application/json` or `application/*+json` (or none:
///    FastAPI's strict content type) → the raw text is validated as the model and fails
///    with `model_attributes_type` at `["body"]`, the text as input;
/// 3. malformed JSON → 422 `json_invalid` at `["body", <char position>]`; bytes that are not
///    UTF-8, or nesting too deep → 400 "There was an error parsing the body";
/// 4. valid JSON that is not an object → 422 `model_attributes_type` with the value as input;
/// 5. more values than the parser's `maxValues` → 400 naming the count and the limit
///    (decided while parsing, before anything is validated item by item).
public enum JSONBody {
    /// The body as a JSON object, or throws `ValidationError` (422) / `HTTPError` (400).
    public static func object(of request: HTTPRequest, parser: JSONParser = JSONParser()) throws -> JSONObject {
        let value = try value(of: request, parser: parser)
        guard case .object(let object) = value else { throw notAnObject(value) }
        return object
    }

    /// The body as any JSON value (steps 1–3 above).
    public static func value(of request: HTTPRequest, parser: JSONParser = JSONParser()) throws -> JSONValue {
        if request.body.isEmpty {
            throw ValidationError([.missing(["body"], input: nil)])
        }
        guard isJSON(request.contentType) else {
            // The text is only echoed (abbreviated), so only a prefix is decoded.
            throw notAnObject(.string(String(decoding: request.body.prefix(4 * JSONValue.echoBudget + 8), as: UTF8.self)))
        }
        do {
            return try parser.parse(request.body)
        } catch {
            switch error {
            case .syntax(let message, let position):
                throw ValidationError([.jsonInvalid(position: position, error: message)])
            case .unreadable:
                throw HTTPError.bodyParseError
            case .tooManyValues(let count, let limit):
                throw HTTPError(400, "Request body holds \(count) JSON values (at most \(limit) per request)")
            }
        }
    }

    /// `application/json` or `application/<anything>+json`, parameters ignored.
    public static func isJSON(_ contentType: HeaderValue?) -> Bool {
        guard let type = contentType?.value else { return false }
        let parts = type.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, parts[0] == "application" else { return false }
        return parts[1] == "json" || parts[1].hasSuffix("+json")
    }

    static func notAnObject(_ input: JSONValue) -> ValidationError {
        ValidationError([
            ValidationIssue(
                type: "model_attributes_type", location: ["body"],
                message: "Input should be a valid dictionary or object to extract fields from", input: input)
        ])
    }
}
