import Testing

@testable import FastCGI

/// Hostile bodies cost bounded work and bounded answers: the parser stops storing past its
/// value budget, a 422 lists at most 100 issues, and no error echoes more than a prefix.
@Suite struct BoundedErrorTests {
    private func request(_ body: [UInt8], contentType: String?) -> HTTPRequest {
        var headers = HTTPHeaders()
        if let contentType { headers.set("content-type", contentType) }
        return HTTPRequest(method: .post, path: "/x", headers: headers, body: body)
    }

    @Test func parserCountsPastItsValueBudgetWithoutStoring() throws {
        let items = Array(repeating: "{}", count: 200_000).joined(separator: ",")
        let body = Array(#"{"dimensions": [\#(items)]}"#.utf8)
        let parser = JSONParser(maxValues: 1000)
        #expect(throws: JSONParseFailure.tooManyValues(count: 200_002, limit: 1000)) { try parser.parse(body) }
        // A syntax error after the budget is still a syntax error (422 like FastAPI's).
        let broken = Array((#"[\#(Array(repeating: "1", count: 5000).joined(separator: ",")),]"#).utf8)
        guard case .failure(.syntax(let message, _)) = Result(catching: { () throws(JSONParseFailure) in try parser.parse(broken) }) else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(message == "Expecting value")
        // Within the budget nothing changes.
        #expect(try JSONParser(maxValues: 4).parse(Array("[1, [2]]".utf8)) == [1, [2]])
        #expect(throws: JSONParseFailure.tooManyValues(count: 5, limit: 4)) {
            try JSONParser(maxValues: 4).parse(Array("[1, [2, 3]]".utf8))
        }
    }

    @Test func bodyOverTheBudgetIsA400NamingTheCount() throws {
        let body = Array(("[" + Array(repeating: "0", count: 5000).joined(separator: ",") + "]").utf8)
        do {
            _ = try JSONBody.value(of: request(body, contentType: "application/json"), parser: JSONParser(maxValues: 100))
            Issue.record("accepted")
        } catch let error as HTTPError {
            #expect(error.status == 400)
            #expect(error.detail == "Request body holds 5001 JSON values (at most 100 per request)")
        }
    }

    @Test func validationIssuesAreCappedWithACount() throws {
        var reader = FieldReader()
        for index in 0..<250 { reader.record(.missing(["body", .index(index)], input: nil)) }
        #expect(reader.issues.count == 100)
        #expect(reader.omitted == 150)
        do {
            try reader.finish()
            Issue.record("no error")
        } catch {
            let detail = try #require(JSONParser().parse(error.response.body)["detail"]).arrayValue
            #expect(detail.count == 101)
            #expect(detail[99]["loc"] == ["body", 99])
            #expect(detail[100]["type"] == "too_many_errors")
            #expect(detail[100]["msg"] == "150 more errors not listed (only the first 100 are)")
        }
        // The union reader's branch issues go through the same cap.
        var union = FieldReader()
        _ = union.stringOrStringList(.array(Array(repeating: .int(1), count: 500)), at: ["body", "queries"])
        #expect(union.issues.count == 100)
        #expect(union.omitted == 401)
        #expect(ValidationError(Array(repeating: .missing(["body"], input: nil), count: 130)).omitted == 30)
    }

    @Test func textBodyIsEchoedAsAShortPrefix() throws {
        // 30 MB of control bytes as text/plain: FastAPI echoes it escaped (x6).
        let body = [UInt8](repeating: 0x01, count: 30 << 20)
        do {
            _ = try JSONBody.object(of: request(body, contentType: "text/plain"))
            Issue.record("accepted")
        } catch let error as ValidationError {
            let response = error.response
            #expect(response.status == 422)
            #expect(response.body.count < 4096, "422 body of \(response.body.count) bytes")
            let input = try #require(try JSONParser().parse(response.body)["detail"]?.arrayValue.first?["input"])
            guard case .string(let text) = input else {
                Issue.record("input is not a string")
                return
            }
            #expect(text.hasSuffix("…"))
            #expect(text.unicodeScalars.count == JSONValue.echoBudget + 1)
        }
    }

    @Test func abbreviationKeepsSmallValuesAndCutsLargeOnes() {
        let small: JSONValue = ["a": [1, 2, "x"], "b": nil]
        #expect(small.abbreviated() == small)
        let long = JSONValue.string(String(repeating: "é", count: 10_000))
        #expect(long.abbreviated(budget: 10) == .string(String(repeating: "é", count: 16) + "…"))
        let many = JSONValue.array(Array(repeating: .int(7), count: 1000))
        guard case .array(let kept) = many.abbreviated(budget: 5) else {
            Issue.record("not an array")
            return
        }
        #expect(kept.count == 6)
        #expect(kept.last == .string("… 995 more items"))
        let wide = JSONValue.object(JSONObject((0..<1000).map { (key: "k\($0)", value: JSONValue.int($0)) }))
        #expect(wide.abbreviated().jsonBytes.count < 4096)
    }

    @Test func echoedTextIsShort() {
        #expect(ErrorEcho.prefix("notes.txt") == "notes.txt")
        let long = String(repeating: "n", count: 10_000)
        #expect(ErrorEcho.prefix(long) == String(repeating: "n", count: 64) + "…")
    }
}
