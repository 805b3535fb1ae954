import Foundation
import ProcessTestSupport
import Testing

/// A client that hangs up: nginx closes the FastCGI connection (499), and the worker drops what
/// is left of the request instead of computing it for nobody.
@Suite(.timeLimit(.minutes(3)))
struct AbandonedRequestTests {
    @Test func pagesOfAClientThatHungUpAreNotComputed() async throws {
        // Measured: 8 pages take ~0.7 s on the tiny model with one worker, too close to the 0.5 s
        // hang-up to tell dropped work from finished work; 48 pages take several seconds.
        let count = 48
        let service = try await ServiceInstance.started(workers: 1, https: false, overrides: ["COLPALI_MAX_IMAGES": String(count)])
        defer { service.terminate() }
        let port = try #require(service.httpPort)
        let page = Paths.fixture("../images/sources/size_page_850x1100.jpg")
        let pages = Array(repeating: FormField.file(name: "files", path: page, type: "image/jpeg"), count: count)
        let query: [String: Any] = ["queries": ["revenue 2023"]]

        // What the pages cost when they are computed in full (the tiny model, one worker).
        let fullStart = Date()
        #expect(try await service.http.postForm("/embed/images", pages).status == 200)
        let fullSeconds = Date().timeIntervalSince(fullStart)

        // The same request from a client that hangs up after 0.5 s, then a query at once.
        let hangUp = try ChildProcess(
            ["/usr/bin/curl", "-s", "-o", "/dev/null", "--max-time", "0.5", "-H", "Expect:"]
                + pages.flatMap { ["-F", $0.curlArgument] } + ["http://127.0.0.1:\(port)/embed/images"],
            environment: ["PATH": "/usr/bin:/bin"], logPath: service.directory.file("hang-up.log"))
        _ = try await hangUp.waitForExit(timeout: 20)
        let queryStart = Date()
        let answer = try await service.http.postJSON("/embed/queries", object: query)
        let querySeconds = Date().timeIntervalSince(queryStart)
        #expect(answer.status == 200)

        // Had the pages been computed, the query would have waited for the rest of them.
        print("\(count) pages in full: \(fullSeconds) s; query after the hang-up: \(querySeconds) s")
        #expect(fullSeconds > 2, "\(count) pages took only \(fullSeconds) s: too fast to tell")
        #expect(querySeconds < fullSeconds / 2, "\(count) pages took \(fullSeconds) s; the query \(querySeconds) s")
        // The worker says it dropped the request and what it skipped.
        try await eventually(timeout: 10, "the abandoned request to be logged") {
            service.log.contains("request abandoned, POST /embed/images")
        }
        let line = try #require(service.log.split(separator: "\n").first { $0.contains("request abandoned, POST /embed/images") })
        #expect(line.contains("closed the connection"), "\(line)")
        #expect(
            line.contains("not decoded") || line.contains("dropped from the queue") || line.contains("not embedded"), "\(line)")
        #expect(!line.contains("its work had finished"), "\(line)")
        print(line)
    }
}
