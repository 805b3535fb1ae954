import Testing

@testable import FastCGI

@Suite struct HTTPMessageTests {
    @Test func requestFromNginxStyleParameters() {
        let request = HTTPRequest(cgiParameters: [
            "REQUEST_METHOD": "POST",
            "REQUEST_URI": "/embed/%71ueries?x=1&y=a+b",
            "DOCUMENT_URI": "/embed/queries",
            "SCRIPT_NAME": "/embed/queries",
            "QUERY_STRING": "x=1&y=a+b",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": "17",
            "HTTP_USER_AGENT": "curl/8",
            "HTTP_X_FORWARDED_FOR": "10.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
        ])
        #expect(request.method == .post)
        #expect(request.path == "/embed/queries")
        #expect(request.query == "x=1&y=a+b")
        #expect(request.queryItems.map(\.value) == ["1", "a b"])
        #expect(request.headers["user-agent"] == "curl/8")
        #expect(request.headers["X-Forwarded-For"] == "10.0.0.1")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["content-length"] == "17")
        #expect(request.contentType?.value == "application/json")
        #expect(request.parameters["REMOTE_ADDR"] == "127.0.0.1")
    }

    @Test func pathFallbacks() {
        #expect(HTTPRequest(cgiParameters: ["REQUEST_URI": "/a%20b/c?q"]).path == "/a b/c")
        #expect(HTTPRequest(cgiParameters: ["REQUEST_URI": "/a?q=1"]).query == "q=1")
        #expect(HTTPRequest(cgiParameters: ["SCRIPT_NAME": "/app", "PATH_INFO": "/x"]).path == "/app/x")
        #expect(HTTPRequest(cgiParameters: [:]).path == "/")
        #expect(HTTPRequest(cgiParameters: [:]).method == .get)
    }

    @Test func declaredLength() {
        #expect(HTTPRequest.declaredLength([:]) == nil)
        #expect(HTTPRequest.declaredLength(["CONTENT_LENGTH": ""]) == nil)
        #expect(HTTPRequest.declaredLength(["CONTENT_LENGTH": "12"]) == .some(12))
        #expect(HTTPRequest.declaredLength(["CONTENT_LENGTH": "-1"]) == .some(nil))
        #expect(HTTPRequest.declaredLength(["CONTENT_LENGTH": "1e3"]) == .some(nil))
    }

    @Test func cgiHeadHasStatusHeadersAndLength() {
        var response = HTTPResponse.detail(413, "Request body too large")
        response.headers.add("X-Test", "a\r\nInjected: yes")
        response.headers.add("Content-Length", "999")  // always recomputed
        let head = String(decoding: response.cgiHead, as: UTF8.self)
        #expect(head.hasPrefix("Status: 413 Content Too Large\r\n"))
        #expect(head.contains("content-type: application/json\r\n"))
        #expect(head.contains("x-test: aInjected: yes\r\n"))
        #expect(head.hasSuffix("Content-Length: \(response.body.count)\r\n\r\n"))
        #expect(!head.contains("999"))
    }
}
