import Foundation
import Testing

/// Bad requests through nginx: each answered with the right status and error shape, and the
/// service still serving afterwards (no worker crashed: the same worker processes throughout).
@Suite(.timeLimit(.minutes(3)))
struct BadInputTests {
    /// A request that must fail, and what its answer must be.
    struct Case: Sendable {
        let name: String
        let status: Int
        /// Checks the answer beyond its status; returns a complaint or nil.
        let check: @Sendable (HTTPAnswer) -> String?
        let send: @Sendable (HTTPClient) async throws -> HTTPAnswer
    }

    static func detail(_ prefix: String) -> @Sendable (HTTPAnswer) -> String? {
        { answer in
            guard let detail = answer.detail else { return "no {\"detail\": str} body" }
            return detail.hasPrefix(prefix) ? nil : "detail \"\(detail)\" does not start with \"\(prefix)\""
        }
    }

    static let anyDetail: @Sendable (HTTPAnswer) -> String? = { $0.detail == nil ? "no {\"detail\": str} body" : nil }

    /// 422 with FastAPI's `[{"loc", "msg", "type"}]` and the first issue at `location` of `type`.
    static func validation(_ location: [String], _ type: String? = nil) -> @Sendable (HTTPAnswer) -> String? {
        { answer in
            guard let issue = answer.validationIssues?.first else { return "no FastAPI validation body" }
            let loc = (issue["loc"] as? [Any])?.map { "\($0)" } ?? []
            guard loc.starts(with: location) else { return "loc \(loc), expected \(location)" }
            guard issue["msg"] is String else { return "no msg" }
            if let type, issue["type"] as? String != type { return "type \(issue["type"] ?? "-"), expected \(type)" }
            return nil
        }
    }

    static func cases(_ directory: TestDirectory) throws -> [Case] {
        let image = Paths.fixture("images/landscape.png")
        let bad: @Sendable (String) -> String = { Paths.fixture("bad/\($0)") }
        let oversized = directory.file("oversized.bin")
        try Data(repeating: UInt8(ascii: "x"), count: 300 * 1024).write(to: URL(fileURLWithPath: oversized))
        let empty = directory.file("empty.png")
        try Data().write(to: URL(fileURLWithPath: empty))
        let garbage = directory.file("garbage.txt")
        try Data("this is not a multipart body\r\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let unterminated = directory.file("unterminated.txt")
        try Data("--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nabc".utf8)
            .write(to: URL(fileURLWithPath: unterminated))
        let latin1 = directory.file("latin1.json")
        try Data([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]).write(to: URL(fileURLWithPath: latin1))

        return [
            // Parts that are not images.
            Case(name: "text part in files", status: 400, check: detail("File notes.txt is not an image")) {
                try await $0.postForm("/embed/images", [.file(name: "files", path: image, type: "text/plain", filename: "notes.txt")])
            },
            Case(name: "pdf part after an image", status: 400, check: detail("File x.pdf is not an image")) {
                try await $0.postForm(
                    "/embed/images",
                    [
                        .file(name: "files", path: image, type: "image/png"),
                        .file(name: "files", path: image, type: "application/pdf", filename: "x.pdf"),
                    ])
            },
            Case(name: "heatmap image that is text", status: 400, check: detail("File y.txt is not an image")) {
                try await $0.postForm(
                    "/heatmap",
                    [.text(name: "query", value: "q"), .file(name: "image", path: image, type: "text/plain", filename: "y.txt")])
            },
            // Bytes that do not decode.
            Case(name: "undecodable image", status: 400, check: anyDetail) {
                try await $0.postForm("/embed/images", [.file(name: "files", path: bad("not-an-image.png"), type: "image/png")])
            },
            Case(name: "truncated PNG", status: 400, check: anyDetail) {
                try await $0.postForm("/embed/images", [.file(name: "files", path: bad("truncated.png"), type: "image/png")])
            },
            Case(name: "empty image file", status: 400, check: anyDetail) {
                try await $0.postForm("/embed/images", [.file(name: "files", path: empty, type: "image/png")])
            },
            Case(name: "undecodable heatmap image", status: 400, check: anyDetail) {
                try await $0.postForm(
                    "/heatmap", [.text(name: "query", value: "q"), .file(name: "image", path: bad("not-an-image.png"), type: "image/jpeg")])
            },
            // Decompression bombs: tiny files declaring 60000 x 60000 pixels.
            Case(name: "PNG bomb", status: 400, check: anyDetail) {
                try await $0.postForm("/embed/images", [.file(name: "files", path: bad("bomb.png"), type: "image/png")])
            },
            Case(name: "GIF bomb", status: 400, check: anyDetail) {
                try await $0.postForm("/embed/images", [.file(name: "files", path: bad("bomb.gif"), type: "image/gif")])
            },
            Case(name: "heatmap PNG bomb", status: 400, check: anyDetail) {
                try await $0.postForm(
                    "/heatmap", [.text(name: "query", value: "q"), .file(name: "image", path: bad("bomb.png"), type: "image/png")])
            },
            // Empty and missing fields.
            Case(name: "empty query list", status: 400, check: detail("No queries provided")) {
                try await $0.postJSON("/embed/queries", "{\"queries\": []}")
            },
            Case(name: "missing queries", status: 422, check: validation(["body", "queries"], "missing")) {
                try await $0.postJSON("/embed/queries", "{\"query\": \"q\"}")
            },
            Case(name: "queries of the wrong type", status: 422, check: validation(["body", "queries"])) {
                try await $0.postJSON("/embed/queries", "{\"queries\": 5}")
            },
            Case(name: "empty JSON body", status: 422, check: validation(["body"], "missing")) {
                try await $0.postJSON("/embed/queries", "")
            },
            Case(name: "no files field", status: 422, check: validation(["body", "files"], "missing")) {
                try await $0.postForm("/embed/images", [.text(name: "other", value: "1")])
            },
            Case(name: "heatmap without image", status: 422, check: validation(["body", "image"], "missing")) {
                try await $0.postForm("/heatmap", [.text(name: "query", value: "q")])
            },
            Case(name: "patches item without height", status: 422, check: validation(["body", "dimensions", "0", "height"], "missing")) {
                try await $0.postJSON("/patches", "{\"dimensions\": [{\"width\": 10}]}")
            },
            Case(name: "patches not a list", status: 422, check: validation(["body", "dimensions"])) {
                try await $0.postJSON("/patches", "{\"dimensions\": \"10x10\"}")
            },
            // Malformed JSON.
            Case(name: "malformed JSON", status: 422, check: validation(["body"], "json_invalid")) {
                try await $0.postJSON("/embed/queries", "{\"queries\": [\"a\",")
            },
            Case(name: "JSON that is not an object", status: 422, check: validation(["body"])) {
                try await $0.postJSON("/embed/queries", "[\"a\"]")
            },
            Case(name: "body that is not UTF-8", status: 400, check: anyDetail) {
                try await $0.postFile("/embed/queries", file: latin1, contentType: "application/json")
            },
            // Malformed multipart.
            Case(name: "multipart without its boundary", status: 400, check: anyDetail) {
                try await $0.postFile("/embed/images", file: garbage, contentType: "multipart/form-data; boundary=XyZ")
            },
            Case(name: "multipart with no boundary parameter", status: 400, check: anyDetail) {
                try await $0.postFile("/embed/images", file: garbage, contentType: "multipart/form-data")
            },
            Case(name: "unterminated multipart", status: 400, check: anyDetail) {
                try await $0.postFile("/embed/images", file: unterminated, contentType: "multipart/form-data; boundary=XyZ")
            },
            // Wrong content types.
            Case(name: "queries as text/plain", status: 422, check: validation(["body"], "model_attributes_type")) {
                try await $0.postJSON("/embed/queries", "{\"queries\": \"q\"}", contentType: "text/plain")
            },
            Case(name: "images as JSON", status: 422, check: validation(["body", "files"], "missing")) {
                try await $0.postJSON("/embed/images", "{\"files\": [\"a.png\"]}")
            },
            // Oversized bodies: refused by nginx in the API's error shape.
            Case(
                name: "oversized JSON body", status: 413,
                check: { answer in
                    answer.headers["content-type"]?.hasPrefix("application/json") == true && answer.detail?.contains("too large") == true
                        ? nil : "not nginx's JSON 413: \(answer)"
                }
            ) {
                try await $0.postFile("/embed/queries", file: oversized, contentType: "application/json")
            },
            Case(
                name: "oversized multipart body", status: 413,
                check: { answer in
                    answer.headers["content-type"]?.hasPrefix("application/json") == true && answer.detail != nil
                        ? nil : "not JSON: \(answer)"
                }
            ) {
                try await $0.postForm("/embed/images", [.file(name: "files", path: oversized, type: "image/png")])
            },
            // Too many items (limits 4 queries and 3 images per request for this instance).
            Case(name: "too many queries", status: 400, check: detail("Too many queries")) {
                try await $0.postJSON("/embed/queries", object: ["queries": ["a", "b", "c", "d", "e"]])
            },
            Case(name: "too many files", status: 400, check: detail("Too many files")) {
                try await $0.postForm("/embed/images", Array(repeating: .file(name: "files", path: image, type: "image/png"), count: 4))
            },
        ]
    }

    @Test func badInputIsRefusedAndTheServiceKeepsServing() async throws {
        let service = try await ServiceInstance.started(overrides: [
            "COLPALI_MAX_REQUEST_BYTES": "256k", "COLPALI_MAX_QUERIES": "4", "COLPALI_MAX_IMAGES": "3",
        ])
        defer { service.terminate() }
        let https = service.https
        let workersBefore = service.workerPIDs
        let probe = try Reference.load().queries[0]

        for testCase in try Self.cases(service.directory) {
            let answer = try await testCase.send(https)
            report("bad input: \(testCase.name) -> \(answer.status) \(answer.text.prefix(160))")
            #expect(answer.status == testCase.status, "\(testCase.name): \(answer)")
            if answer.status == testCase.status, let complaint = testCase.check(answer) {
                Issue.record("\(testCase.name): \(complaint)")
            }
            // Still serving: a real request right after succeeds with the right answer.
            let after = try await https.postJSON("/embed/queries", object: ["queries": probe.text])
            let rows = matrix((after.object?["embeddings"] as? [Any])?.first)
            #expect(
                after.status == 200 && rows.map { maxAbsDifference($0, probe.embedding) ?? 1 } ?? 1 <= 1e-4,
                "after \(testCase.name): \(after)")
        }
        // Batches at the limits are fine.
        let four = try await https.postJSON("/embed/queries", object: ["queries": ["a", "b", "c", "d"]])
        #expect(four.status == 200, "\(four)")
        let images = try await https.postForm(
            "/embed/images", Array(repeating: .file(name: "files", path: Paths.fixture("images/wide.png"), type: "image/png"), count: 3))
        #expect(images.status == 200 && (images.object?["embeddings"] as? [Any])?.count == 3, "\(images)")

        #expect(service.workerPIDs == workersBefore, "no worker died on bad input:\n\(service.log.suffix(3000))")
        #expect(!service.log.contains(" died"), "\(service.log.suffix(3000))")
        let stopped = try await service.stop()
        #expect(stopped.master == "exit 0")
    }
}
