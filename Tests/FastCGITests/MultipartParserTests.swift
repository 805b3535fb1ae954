import Testing

@testable import FastCGI

@Suite struct MultipartParserTests {
    static let crlf = "\r\n"

    static func body(_ boundary: String, parts: [(headers: String, data: [UInt8])], preamble: String = "", epilogue: String = "") -> [UInt8]
    {
        var bytes = Array(preamble.utf8)
        if !preamble.isEmpty { bytes += Array(crlf.utf8) }
        for part in parts {
            bytes += Array("--\(boundary)\r\n\(part.headers)\r\n\r\n".utf8)
            bytes += part.data
            bytes += Array(crlf.utf8)
        }
        bytes += Array("--\(boundary)--\r\n\(epilogue)".utf8)
        return bytes
    }

    static func parse(_ body: [UInt8], _ boundary: String = "XyZ", limits: MultipartLimits = MultipartLimits()) throws(MultipartError)
        -> [FormPart]
    {
        try MultipartParser(limits: limits).parse(body, boundary: Array(boundary.utf8))
    }

    @Test func fieldsFilesAndContentTypes() throws {
        let body = Self.body(
            "XyZ",
            parts: [
                (#"Content-Disposition: form-data; name="query""#, Array("hello".utf8)),
                ("Content-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png", [0, 1, 2, 13, 10]),
                (#"Content-Disposition: form-data; name="files"; filename="b.bin""#, [9]),
                (#"Content-Disposition: form-data; name="empty"; filename="""#, []),
            ])
        let parts = try Self.parse(body)
        #expect(parts.count == 4)
        #expect(parts[0].name == "query" && !parts[0].isFile && parts[0].text == "hello")
        #expect(parts[1].filename == "a.png" && parts[1].contentType == "image/png" && Array(parts[1].data) == [0, 1, 2, 13, 10])
        #expect(parts[1].mediaType == "image/png")
        #expect(parts[2].isFile && parts[2].contentType == nil)
        #expect(parts[3].isFile && parts[3].filename == "" && parts[3].data.isEmpty)
    }

    @Test func partsAreSlicesOfTheBody() throws {
        let body = Self.body("b", parts: [(#"Content-Disposition: form-data; name="f"; filename="x""#, Array(repeating: 7, count: 1000))])
        let parts = try MultipartParser().parse(body, boundary: Array("b".utf8))
        let part = try #require(parts.first)
        // The slice indexes into the request body's own storage: no copy was made.
        #expect(part.data.startIndex > 0 && part.data.endIndex < body.count)
        body.withUnsafeBufferPointer { whole in
            part.data.withUnsafeBufferPointer { slice in
                #expect(slice.baseAddress == whole.baseAddress! + part.data.startIndex)
            }
        }
    }

    @Test func quotedBoundaryFromContentType() throws {
        let contentType = HeaderValue(parsing: #"multipart/form-data; boundary="weird =?boundary""#)
        let boundary = try MultipartParser.boundary(of: contentType)
        #expect(boundary == Array("weird =?boundary".utf8))
        let body = Self.body("weird =?boundary", parts: [(#"Content-Disposition: form-data; name="a""#, Array("1".utf8))])
        #expect(try MultipartParser().parse(body, boundary: boundary).first?.text == "1")
        #expect(throws: MultipartError.missingBoundary) { try MultipartParser.boundary(of: HeaderValue(parsing: "multipart/form-data")) }
        #expect(throws: MultipartError.invalidBoundary) {
            try MultipartParser.boundary(of: HeaderValue(parsing: "multipart/form-data; boundary=\"\""))
        }
    }

    @Test func filenameStarWinsAndWindowsPathsAreCut() throws {
        let body = Self.body(
            "XyZ",
            parts: [
                (#"Content-Disposition: form-data; name="a"; filename="plain.png"; filename*=UTF-8''%C3%A9.png"#, [1]),
                (#"Content-Disposition: form-data; name="b"; filename*=UTF-8''only%20star.png"#, [2]),
                (#"Content-Disposition: form-data; name="c"; filename="C:\Users\me\photo.jpg""#, [3]),
                ("Content-Disposition: form-data; name=\"d\"; filename=\"r\u{e9}sum\u{e9}.pdf\"", [4]),
            ])
        let parts = try Self.parse(body)
        #expect(parts.map(\.filename) == ["é.png", "only star.png", "photo.jpg", "résumé.pdf"])
    }

    @Test func preambleEpilogueAndPadding() throws {
        var body = Self.body(
            "XyZ", parts: [(#"Content-Disposition: form-data; name="a""#, Array("x".utf8))],
            preamble: "This is the preamble.\r\nIt has --XyZ-like text", epilogue: "the end\r\n--XyZ\r\n")
        #expect(try Self.parse(body).map(\.text) == ["x"])
        // Transport padding (spaces/tabs) after a boundary is allowed.
        body = Array("--XyZ \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--".utf8)
        #expect(try Self.parse(body).map(\.text) == ["v"])
    }

    @Test func boundaryLookalikesInsideDataAreData() throws {
        let tricky = Array("a\r\n--XyZb\r\n--XyZ-\r\n\r".utf8)
        let body = Self.body("XyZ", parts: [(#"Content-Disposition: form-data; name="f"; filename="t""#, tricky)])
        #expect(try Array(#require(Self.parse(body).first).data) == tricky)
    }

    @Test func headerFoldingAndCase() throws {
        let body = Array("--XyZ\r\ncontent-DISPOSITION: form-data;\r\n name=\"folded\"\r\nX-Extra:  v  \r\n\r\nd\r\n--XyZ--".utf8)
        let part = try #require(try Self.parse(body).first)
        #expect(part.name == "folded")
        #expect(part.headers["x-extra"] == "v")
    }

    @Test func emptyAndCloseOnlyBodiesHaveNoParts() throws {
        #expect(try Self.parse([]).isEmpty)
        #expect(try Self.parse(Array("--XyZ--".utf8)).isEmpty)
        #expect(try Self.parse(Array("--XyZ--\r\nepilogue".utf8)).isEmpty)
    }

    @Test func malformedBodiesAreTypedErrors() {
        let disposition = "Content-Disposition: form-data; name=\"a\""
        let cases: [(String, MultipartError)] = [
            ("garbage", .noOpeningBoundary),
            ("--XyZ\r\n\(disposition)\r\n\r\nabc", .unexpectedEnd),  // truncated
            ("--XyZ\r\n\(disposition)\r\n\r\nabc\r\n--XyZ", .unexpectedEnd),  // no closing "--"
            ("--XyZ\r\n\(disposition)", .unexpectedEnd),  // headers never end
            ("--XyZ\n\(disposition)\n\nabc\n--XyZ--\n", .noOpeningBoundary),  // bare LF line ends
            ("--XyZ\r\nContent-Type: text/plain\r\n\r\nabc\r\n--XyZ--", .missingName),
            ("--XyZ\r\n\r\nabc\r\n--XyZ--", .missingName),
            ("--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nabc\r\n--XyZ--", .missingName),
            ("--XyZ\r\n\(disposition)\r\nbogus\r\n\r\nabc\r\n--XyZ--", .malformedHeader("header line without a name and colon")),
            ("--XyZ\r\n\(disposition)\nX: y\r\n\r\nabc\r\n--XyZ--", .malformedHeader("control character in header line")),
            ("--XyZ\r\n\(disposition)\r\nBad Name: y\r\n\r\nabc\r\n--XyZ--", .malformedHeader("invalid header name")),
            ("--XyZ\r\n continuation\r\n\r\nabc\r\n--XyZ--", .malformedHeader("continuation line without a header")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text.debugDescription)") { try Self.parse(Array(text.utf8)) }
        }
    }

    @Test func limitsAreEnforced() {
        let field = (headers: #"Content-Disposition: form-data; name="a""#, data: Array(repeating: UInt8(ascii: "x"), count: 100))
        let file = (headers: #"Content-Disposition: form-data; name="f"; filename="f""#, data: Array(repeating: UInt8(1), count: 5000))
        #expect(throws: MultipartError.tooManyParts(limit: 2)) {
            try Self.parse(Self.body("XyZ", parts: [field, field, field]), limits: MultipartLimits(maxParts: 2))
        }
        #expect(throws: MultipartError.fieldTooLarge(limit: 99)) {
            try Self.parse(Self.body("XyZ", parts: [field]), limits: MultipartLimits(maxFieldBytes: 99))
        }
        // The field limit does not apply to files.
        #expect((try? Self.parse(Self.body("XyZ", parts: [file]), limits: MultipartLimits(maxFieldBytes: 99)))?.count == 1)
        #expect(throws: MultipartError.bodyTooLarge(limit: 1000)) {
            try Self.parse(Self.body("XyZ", parts: [file]), limits: MultipartLimits(maxBodyBytes: 1000))
        }
        let bigHeader = (
            headers: #"Content-Disposition: form-data; name="a""# + "\r\nX-Pad: " + String(repeating: "p", count: 300), data: [UInt8]()
        )
        #expect(throws: MultipartError.headersTooLarge(limit: 200)) {
            try Self.parse(Self.body("XyZ", parts: [bigHeader]), limits: MultipartLimits(maxHeaderBytes: 200))
        }
        #expect((try? Self.parse(Self.body("XyZ", parts: [bigHeader]), limits: MultipartLimits(maxHeaderBytes: 400)))?.count == 1)
    }

    @Test func urlEncodedForms() throws {
        let request = HTTPRequest(
            method: .post, path: "/", headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded")]),
            body: Array("query=caf%C3%A9+au+lait&aggregate=mean&flag&bad=%zz&=v".utf8))
        let form = try FormData.parse(request)
        #expect(form.parts.map(\.name) == ["query", "aggregate", "flag", "bad", ""])
        #expect(form.last("query")?.text == "café au lait")
        #expect(form.last("flag")?.text == "")
        #expect(form.last("bad")?.text == "%zz")
        // Other content types read as an empty form (then fields are "missing", as in FastAPI).
        #expect(try FormData.parse(HTTPRequest(method: .post, path: "/", body: [1, 2])).isEmpty)
    }
}
