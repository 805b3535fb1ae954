// libFuzzer harness: FastCGI's JSON parser, the FastAPI-shaped body reader and the 422
// writer, linked against FastCGIFuzz (the module's sources as an instrumented library, scripts/fuzz.sh).
//
// Checks beyond "no crash": the value budget holds (a refused document says how many
// values it had, above the limit); a parsed document written back parses to the same
// text (NaN-safe: compared as written bytes); 422 answers stay small whatever the input.

import FastCGIFuzz

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parser = JSONParser(maxDepth: 64, maxValues: 4096)
    do throws(JSONParseFailure) {
        let value = try parser.parse(bytes)
        let written = value.jsonBytes
        guard let again = try? JSONParser(maxDepth: 64, maxValues: 4096).parse(written), again.jsonBytes == written else {
            fatalError("written JSON does not parse back to itself")
        }
        let echo = value.abbreviated()
        if echo.jsonBytes.count > 64 * 1024 { fatalError("abbreviated echo of \(echo.jsonBytes.count) bytes") }
    } catch {
        if case .tooManyValues(let count, let limit) = error, count <= limit { fatalError("refused \(count) <= \(limit)") }
    }
    // The body reader, as a route uses it: every outcome is an answer of bounded size.
    for type in ["application/json", "text/plain"] {
        var headers = HTTPHeaders()
        headers.set("content-type", type)
        let request = HTTPRequest(method: .post, path: "/patches", headers: headers, body: bytes)
        do {
            let object = try JSONBody.object(of: request, parser: parser)
            var reader = FieldReader()
            if let list = reader.required(object, "dimensions", at: ["body"]).flatMap({ reader.list($0, at: ["body", "dimensions"]) }) {
                for (index, item) in list.enumerated() {
                    guard let member = reader.model(item, at: ["body", "dimensions", .index(index)]) else { continue }
                    _ = reader.required(member, "width", at: ["body", "dimensions", .index(index)]).flatMap {
                        reader.int($0, at: ["body", "dimensions", .index(index), "width"])
                    }
                }
            }
            if let queries = object["queries"] { _ = reader.stringOrStringList(queries, at: ["body", "queries"]) }
            try reader.finish()
        } catch let error as ValidationError {
            let body = error.response.body
            if body.count > 512 * 1024 { fatalError("422 body of \(body.count) bytes") }
        } catch let error as HTTPError {
            if error.detail.utf8.count > 1024 { fatalError("error detail of \(error.detail.utf8.count) bytes") }
        } catch {
            fatalError("unexpected error \(error)")
        }
    }
    return 0
}
