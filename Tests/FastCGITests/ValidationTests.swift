import Testing

@testable import FastCGI

@Suite struct ValidationTests {
    /// `int`, `str` and `list[int]` fields read like pydantic v2 in lax mode: same
    /// accepted inputs, same error type/loc/msg/input, same order.
    @Test func fieldReaderMatchesPydantic() throws {
        let cases = try Fixture.json("pydantic.json").arrayValue
        #expect(cases.count >= 10)
        for entry in cases {
            guard case .object(let object) = try #require(entry["input"]) else {
                Issue.record("fixture input is not an object")
                continue
            }
            var reader = FieldReader()
            if let value = reader.required(object, "i", at: []) { _ = reader.int(value, at: ["i"]) }
            if let value = reader.required(object, "s", at: []) { _ = reader.string(value, at: ["s"]) }
            if let value = reader.required(object, "items", at: []), let items = reader.list(value, at: ["items"]) {
                for (index, item) in items.enumerated() { _ = reader.int(item, at: ["items", .index(index)]) }
            }
            let expected = try #require(entry["errors"]).arrayValue
            let ours = reader.issues.map(\.json)
            #expect(ours == expected, "input \(String(decoding: JSONValue.object(object).jsonBytes, as: UTF8.self))")
        }
    }

    @Test func laxIntegerStrings() {
        #expect(FieldReader.parseLaxInteger(" 42 ") == .some(42))
        #expect(FieldReader.parseLaxInteger("-1_000") == .some(-1000))
        #expect(FieldReader.parseLaxInteger("7.000") == .some(7))
        #expect(FieldReader.parseLaxInteger("7.") == nil)
        #expect(FieldReader.parseLaxInteger("1__0") == nil)
        #expect(FieldReader.parseLaxInteger("99999999999999999999") == .some(nil))
    }

    @Test func validationErrorResponseShape() throws {
        let error = ValidationError([
            .missing(["body", "queries"], input: .object(JSONObject())),
            .jsonInvalid(position: 3, error: "Expecting value"),
        ])
        let response = error.response
        #expect(response.status == 422)
        #expect(response.headers["content-type"] == "application/json")
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == #"{"detail":[{"type":"missing","loc":["body","queries"],"msg":"Field required","input":{}},"#
                + #"{"type":"json_invalid","loc":["body",3],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting value"}}]}"#)
    }
}
