/// One element of a FastAPI error location: `["body", "dimensions", 0, "width"]`.
public enum LocationElement: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case key(String)
    case index(Int)

    public init(stringLiteral value: String) { self = .key(value) }
    public init(integerLiteral value: Int) { self = .index(value) }

    var json: JSONValue {
        switch self {
        case .key(let key): return .string(key)
        case .index(let index): return .int(index)
        }
    }
}

/// One entry of a FastAPI 422 body, in pydantic v2's shape and member order:
/// `{"type", "loc", "msg", "input", "ctx"?}`.
public struct ValidationIssue: Sendable, Equatable {
    public var type: String
    public var location: [LocationElement]
    public var message: String
    /// The offending input; `nil` writes JSON `null`, as FastAPI does for a missing body.
    public var input: JSONValue?
    public var context: JSONObject?

    public init(type: String, location: [LocationElement], message: String, input: JSONValue?, context: JSONObject? = nil) {
        self.type = type
        self.location = location
        self.message = message
        self.input = input
        self.context = context
    }

    /// `{"type":"missing","msg":"Field required"}` (pydantic's wording).
    public static func missing(_ location: [LocationElement], input: JSONValue?) -> ValidationIssue {
        ValidationIssue(type: "missing", location: location, message: "Field required", input: input)
    }

    /// FastAPI's answer to a body that is not valid JSON syntax.
    public static func jsonInvalid(position: Int, error: String) -> ValidationIssue {
        ValidationIssue(
            type: "json_invalid", location: ["body", .index(position)], message: "JSON decode error",
            input: .object(JSONObject()), context: JSONObject([(key: "error", value: .string(error))]))
    }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            (key: "type", value: .string(type)),
            (key: "loc", value: .array(location.map(\.json))),
            (key: "msg", value: .string(message)),
            // Only a bounded prefix of the input is echoed: a 30 MB text body would
            // otherwise come back escaped to 180 MB (every control byte as \u00XX).
            (key: "input", value: input?.abbreviated() ?? .null),
        ]
        if let context { members.append((key: "ctx", value: .object(context))) }
        return .object(JSONObject(members))
    }
}

/// A request that failed validation: answered 422 `{"detail": [issue, …]}`.
///
/// At most `maxListed` issues are kept; the rest are only counted (`omitted`) and
/// summarised by one last entry of type `too_many_errors`, so the answer to a body with
/// millions of bad items stays small (FastAPI lists them all: 388 MB for 2 M items).
public struct ValidationError: Error, Sendable, Equatable {
    public static let maxListed = 100

    public var issues: [ValidationIssue]
    /// Issues found beyond the first `maxListed`, not kept.
    public var omitted: Int

    public init(_ issues: [ValidationIssue], omitted: Int = 0) {
        self.issues = Array(issues.prefix(Self.maxListed))
        self.omitted = omitted + max(0, issues.count - Self.maxListed)
    }

    /// The entry that stands for the omitted issues.
    var omittedSummary: ValidationIssue {
        ValidationIssue(
            type: "too_many_errors", location: ["body"],
            message: "\(omitted) more errors not listed (only the first \(Self.maxListed) are)", input: nil)
    }

    public var response: HTTPResponse {
        var entries = issues.map(\.json)
        if omitted > 0 { entries.append(omittedSummary.json) }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("detail")
        writer.value(JSONValue.array(entries))
        writer.endObject()
        return HTTPResponse(status: 422, json: writer.bytes)
    }
}

/// Reads typed fields out of parsed JSON the way pydantic v2 does in its default
/// (lax) mode, collecting every problem instead of stopping at the first, so one 422
/// lists them all like FastAPI's.
///
/// Each accessor returns `nil` after recording an issue; call `finish()` at the end.
public struct FieldReader: Sendable {
    /// The first `ValidationError.maxListed` issues.
    public private(set) var issues: [ValidationIssue] = []
    /// Issues recorded after the first `ValidationError.maxListed` (counted, not kept).
    public private(set) var omitted = 0

    public init() {}

    public mutating func record(_ issue: ValidationIssue) {
        if issues.count < ValidationError.maxListed {
            issues.append(issue)
        } else {
            omitted += 1
        }
    }

    /// Whether anything was recorded.
    public var hasIssues: Bool { !issues.isEmpty }

    /// Throws the collected issues, if any.
    public func finish() throws(ValidationError) {
        if !issues.isEmpty { throw ValidationError(issues, omitted: omitted) }
    }

    /// A required member; records `missing` (input: the whole object) when absent.
    public mutating func required(_ object: JSONObject, _ key: String, at location: [LocationElement]) -> JSONValue? {
        if let value = object[key] { return value }
        record(.missing(location + [.key(key)], input: .object(object)))
        return nil
    }

    /// `str`: only JSON strings (pydantic does not turn numbers into strings).
    public mutating func string(_ value: JSONValue, at location: [LocationElement]) -> String? {
        if case .string(let text) = value { return text }
        record(ValidationIssue(type: "string_type", location: location, message: "Input should be a valid string", input: value))
        return nil
    }

    /// `int` in lax mode: integers, booleans, floats without a fractional part, and
    /// strings holding an integer (surrounding whitespace, `_` separators, a `.0` tail).
    public mutating func int(_ value: JSONValue, at location: [LocationElement]) -> Int? {
        switch value {
        case .int(let number):
            return number
        case .bool(let flag):
            return flag ? 1 : 0
        case .double(let number):
            guard number.isFinite else {
                record(ValidationIssue(type: "finite_number", location: location, message: "Input should be a finite number", input: value))
                return nil
            }
            guard number.rounded(.towardZero) == number else {
                record(
                    ValidationIssue(
                        type: "int_from_float", location: location,
                        message: "Input should be a valid integer, got a number with a fractional part", input: value))
                return nil
            }
            guard let exact = Int(exactly: number) else {
                record(Self.tooLarge(location, value))
                return nil
            }
            return exact
        case .string(let text):
            switch Self.parseLaxInteger(text) {
            case .some(.some(let number)): return number
            case .some(.none):
                record(Self.tooLarge(location, value))
                return nil
            case .none:
                record(
                    ValidationIssue(
                        type: "int_parsing", location: location,
                        message: "Input should be a valid integer, unable to parse string as an integer", input: value))
                return nil
            }
        default:
            record(ValidationIssue(type: "int_type", location: location, message: "Input should be a valid integer", input: value))
            return nil
        }
    }

    /// `list[...]`: only JSON arrays.
    public mutating func list(_ value: JSONValue, at location: [LocationElement]) -> [JSONValue]? {
        if case .array(let items) = value { return items }
        record(ValidationIssue(type: "list_type", location: location, message: "Input should be a valid list", input: value))
        return nil
    }

    /// A nested model inside the body: only JSON objects. (Inside a FastAPI body a
    /// non-object is `model_attributes_type`; bare pydantic would say `model_type`.)
    public mutating func model(_ value: JSONValue, at location: [LocationElement]) -> JSONObject? {
        if case .object(let object) = value { return object }
        record(
            ValidationIssue(
                type: "model_attributes_type", location: location,
                message: "Input should be a valid dictionary or object to extract fields from", input: value))
        return nil
    }

    /// `Union[str, List[str]]` as pydantic's smart union reports it: a string gives
    /// `[text]`, a list of strings gives the list; otherwise one issue for the `str`
    /// branch (`loc + ["str"]`) and the `list[str]` branch's issues (`loc + ["list[str]", …]`).
    public mutating func stringOrStringList(_ value: JSONValue, at location: [LocationElement]) -> [String]? {
        if case .string(let text) = value { return [text] }
        var branch = FieldReader()
        var strings: [String] = []
        if let items = branch.list(value, at: location + ["list[str]"]) {
            for (index, item) in items.enumerated() {
                if let text = branch.string(item, at: location + ["list[str]", .index(index)]) { strings.append(text) }
            }
        }
        if branch.issues.isEmpty { return strings }
        record(ValidationIssue(type: "string_type", location: location + ["str"], message: "Input should be a valid string", input: value))
        for issue in branch.issues { record(issue) }
        omitted += branch.omitted
        return nil
    }

    private static func tooLarge(_ location: [LocationElement], _ value: JSONValue) -> ValidationIssue {
        // pydantic accepts arbitrarily large ints; a 64-bit service cannot.
        ValidationIssue(
            type: "int_parsing_size", location: location,
            message: "Unable to parse input string as an integer, exceeded maximum size", input: value)
    }

    /// `nil`: not an integer; `.some(nil)`: an integer outside `Int`.
    static func parseLaxInteger(_ text: String) -> Int?? {
        var body = Substring(text).drop { $0.isWhitespace }
        while let last = body.last, last.isWhitespace { body.removeLast() }
        var negative = false
        if let sign = body.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            body.removeFirst()
        }
        // A fractional part made only of zeros is accepted ("5.0").
        if let dot = body.firstIndex(of: ".") {
            let fraction = body[body.index(after: dot)...]
            guard !fraction.isEmpty, fraction.allSatisfy({ $0 == "0" }) else { return nil }
            body = body[..<dot]
        }
        guard let first = body.first, first.isASCII, first.isNumber, body.last?.isNumber == true else { return nil }
        var digits = ""
        var previousUnderscore = false
        for character in body {
            if character == "_" {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            guard character.isASCII, character.isNumber else { return nil }
            previousUnderscore = false
            digits.append(character)
        }
        guard let magnitude = Int(digits) else { return .some(nil) }
        return .some(negative ? -magnitude : magnitude)
    }
}
