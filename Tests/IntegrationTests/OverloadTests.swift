import Foundation
import ProcessTestSupport
import Testing

/// Overload answered fast (issue 12) through real nginx and the tiny model: beyond the pool's
/// bounded queue a request gets the master's 503 with Retry-After at once, never a 504 after
/// minutes; the image routes have a stricter per-client rate than queries.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct OverloadTests {
    /// A page large enough that 16 of them keep the worker busy for seconds (decoding and
    /// tiling 4 Mpx each), yet small on the wire (a gradient compresses well).
    static func bigPage(_ directory: TestDirectory) throws -> String {
        let path = directory.file("big.png")
        let script = "from PIL import Image; Image.linear_gradient('L').resize((2048, 2048)).convert('RGB').save('\(path)')"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Paths.python())
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "PIL makes the test page")
        return path
    }

    /// Connections waiting in the accept queue of the pool's socket: its listener's Recv-Q in
    /// `ss -xl` (Linux). `ss` names a socket by the path it was bound at, a private folder beside
    /// the final name (`ListeningSocket`), so the pool's is told from the master's own socket in the
    /// same run directory by its backlog (Send-Q): 0 for a queue of 1, against 1024.
    static func acceptQueue(_ instance: ServiceInstance) async throws -> Int {
        let (status, output) = try await ChildProcess.run(
            ["/usr/bin/ss", "-xlnH"], environment: [:], logDirectory: instance.directory.path, timeout: 10)
        try #require(status == "exit 0", "ss: \(output)")
        let runDirectory = (instance.socketPath as NSString).deletingLastPathComponent + "/"
        let pool = output.split(separator: "\n").map { $0.split(separator: " ") }.filter {
            $0.count > 4 && $0[4].hasPrefix(runDirectory) && $0[3] == "0"
        }
        guard pool.count == 1, let queued = Int(pool[0][2]) else {
            throw TimedOut(what: "one listener with backlog 0 under \(runDirectory) in ss's listeners: \(output)")
        }
        return queued
    }

    @Test func beyondTheQueueAnswers503AtOnce() async throws {
        let instance = try await ServiceInstance.started(
            workers: 1, https: false,
            overrides: [
                "COLPALI_REQUESTS_PER_WORKER": "1", "COLPALI_QUEUE_DEPTH": "1", "COLPALI_RETRY_AFTER": "3",
                "COLPALI_MAX_IMAGES": "32",
            ])
        defer { instance.terminate() }
        let client = {
            var client = instance.http
            client.maxTime = 200
            return client
        }()
        let page = try Self.bigPage(instance.directory)
        // 32 pages hold the slot ~30 s on a loaded CI machine; with 16 (~15 s) the first holder once
        // finished while three refusals were still being sent one after another (a curl start took
        // 2.7 s), so the third found the queue free again and was served.
        let pages = Array(repeating: FormField.file(name: "files", path: page, type: "image/png"), count: 32)
        // One request in the worker's only slot, then one in the queue, each step waited for as
        // observed, not for a fixed time: sent together (or 1 s apart on a loaded machine, where
        // starting curl once took 2.3 s), the second could find the first still unaccepted in the
        // backlog and the queue full. The slot is the master's in-flight gauge; the queue is the
        // pool socket's accept queue (a listener's Recv-Q in `ss`).
        var holders: [Task<(answer: HTTPAnswer, finished: Date), any Error>] = []
        holders.append(Task { (try await client.postForm("/embed/images", pages), Date()) })
        try await eventuallyAsync(timeout: 60, "the first page request in the worker's slot") {
            let (_, scrape) = try await MetricsTests.scrape(instance)
            let queued = try await Self.acceptQueue(instance)
            return scrape.value("colmodernvbert_requests_in_flight") == 1 && queued == 0
        }
        holders.append(Task { (try await client.postForm("/embed/images", pages), Date()) })
        try await eventuallyAsync(timeout: 60, interval: .milliseconds(50), "the second page request in the pool's queue") {
            try await Self.acceptQueue(instance) == 1
        }
        // The refusals are sent together, so their curl starts overlap rather than add up.
        let refusals = (0..<3).map { index in
            Task {
                let started = Date()
                let answer = try await client.postJSON("/embed/queries", #"{"queries": ["overflow \#(index)"]}"#)
                return (answer, Date().timeIntervalSince(started))
            }
        }
        var timings: [Double] = []
        var answers: [HTTPAnswer] = []
        for refusal in refusals {
            let (answer, timing) = try await refusal.value
            timings.append(timing)
            answers.append(answer)
        }
        let refusalsDone = Date()
        var held: [HTTPAnswer] = []
        var heldFinished: [Date] = []
        for holder in holders {
            let (answer, finished) = try await holder.value
            held.append(answer)
            heldFinished.append(finished)
        }
        print("overload: 503 answers in \(timings.map { String(format: "%.3f s", $0) }) (curl process included)")
        for answer in answers {
            #expect(answer.status == 503, "\(answer)")
            #expect(answer.headers["retry-after"] == "3", "\(answer.headers)")
            #expect(answer.detail == "Service overloaded: 1 requests are already waiting; retry later", "\(answer)")
        }
        // "At once" is shown by order, not by a clock (the figures above are printed; a loaded CI
        // machine once took 2.3 s to start a curl process): every refusal came back while both held
        // requests were still being served, i.e. none waited for a slot.
        #expect(heldFinished.allSatisfy { refusalsDone < $0 }, "503s done at \(refusalsDone), held requests done at \(heldFinished)")
        // The held requests were served, neither refused nor timed out.
        #expect(held.map(\.status) == [200, 200], "\(held)")
        // With the worker free again, a query is served.
        #expect(try await client.postJSON("/embed/queries", #"{"queries": ["after"]}"#).status == 200)
    }

    @Test func imageRoutesHaveAStricterRate() async throws {
        let instance = try await ServiceInstance.started(
            workers: 1, https: false, overrides: ["COLPALI_IMAGE_RATE_LIMIT": "1r/s", "COLPALI_IMAGE_RATE_BURST": "0"])
        defer { instance.terminate() }
        let client = instance.http
        let image = Paths.fixture("images/landscape.png")
        let first = try await client.postForm("/embed/images", [.file(name: "files", path: image, type: "image/png")])
        let second = try await client.postForm("/embed/images", [.file(name: "files", path: image, type: "image/png")])
        var queries: [Int] = []
        for index in 0..<4 {
            queries.append(try await client.postJSON("/embed/queries", #"{"queries": ["q\#(index)"]}"#).status)
        }
        #expect(first.status == 200, "\(first)")
        #expect(second.status == 429, "\(second)")
        #expect(second.detail == "Too many requests", "\(second)")
        #expect(queries == [200, 200, 200, 200], "queries are not limited by the image rate")
    }
}
