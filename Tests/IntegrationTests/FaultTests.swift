import Foundation
import Glibc
import ProcessTestSupport
import Synchronization
import Testing

/// Faults: a worker killed with SIGKILL under load, and SIGTERM to the master with requests
/// in flight.
@Suite(.timeLimit(.minutes(3)))
struct FaultTests {
    /// A bounded load through nginx (two shell loops of curl: queries and images) while one
    /// worker is killed with SIGKILL: only requests in flight on that worker may fail (502 from
    /// nginx), the pool spawns a replacement, and afterwards every request succeeds again.
    @Test func killedWorkerIsReplacedUnderLoad() async throws {
        let reference = try Reference.load()
        let service = try await ServiceInstance.started(workers: 2, http: false)
        defer { service.terminate() }
        let directory = service.directory
        let url = "https://127.0.0.1:\(try #require(service.httpsPort))"
        let queryBody = directory.file("query.json")
        try jsonText(["queries": reference.queries.map(\.text)]).write(toFile: queryBody, atomically: true, encoding: .utf8)
        let image = reference.images[0]
        let victim = try #require(service.workerPIDs.first)
        let idleSockets = socketDescriptors(of: victim)

        // Each loop: at most `requests` sequential requests, each bounded by curl's --max-time.
        let requests = 40
        let curl = "curl -sk -o /dev/null -w '%{http_code}\\n' --max-time 20"
        let loops = [
            ("queries", "\(curl) -H 'Content-Type: application/json' --data-binary @\(queryBody) \(url)/embed/queries"),
            (
                "images",
                "\(curl) -F 'files=@\(image.path);type=\(image.content_type)' -F 'files=@\(image.path);type=\(image.content_type)' \(url)/embed/images"
            ),
        ]
        var load: [(name: String, statuses: String, process: ChildProcess)] = []
        for (name, command) in loops {
            let statuses = directory.file("load-\(name).txt")
            let script = "for i in $(seq \(requests)); do \(command) >> \(statuses); done"
            load.append(
                (
                    name, statuses,
                    try ChildProcess(
                        ["/bin/bash", "-c", script], environment: ["PATH": "/usr/bin:/bin"], logPath: directory.file("load-\(name).log"))
                ))
        }
        defer { load.forEach { $0.process.terminate() } }
        let lines = { (path: String) in ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        // Kill a worker once both loops are well under way, preferably while it holds a request
        // (a connection from nginx beyond the sockets it has when idle).
        try await eventually(timeout: 60, "the load to start") { load.allSatisfy { lines($0.statuses).count >= 5 } }
        let deadline = Date().addingTimeInterval(10)
        var inFlight = false
        while !inFlight && Date() < deadline {
            inFlight = !socketDescriptors(of: victim).subtracting(idleSockets).isEmpty
            if !inFlight { try await Task.sleep(for: .milliseconds(2)) }
        }
        let linesAtKill = load.map { lines($0.statuses).count }
        let killedAt = Date()
        kill(victim, SIGKILL)

        try await eventually(timeout: 60, "the killed worker to be replaced:\n\(service.log.suffix(3000))") {
            let live = service.workerPIDs
            return live.count == 2 && !live.contains(victim) && live.allSatisfy { service.readyPIDs.contains($0) }
        }
        let replacedAfter = Date().timeIntervalSince(killedAt)
        for entry in load { try await entry.process.waitForExit(timeout: 120) }

        var failures: [String] = []
        var total = 0
        var succeededAfterKill = 0
        for (entry, atKill) in zip(load, linesAtKill) {
            let statuses = lines(entry.statuses)
            #expect(statuses.count == requests, "\(entry.name): \(statuses.count) of \(requests) requests finished")
            total += statuses.count
            failures += statuses.filter { $0 != "200" }.map { "\(entry.name): \($0)" }
            // Requests that started after the one in flight at the kill.
            succeededAfterKill += statuses.dropFirst(atKill + 1).filter { $0 == "200" }.count
        }
        let servedByVictim = service.log.split(separator: "\n").filter { $0.contains("pid=\(victim)") && $0.contains("POST /embed/") }.count
        report(
            "kill -9 under load: \(total) requests, \(failures.count) failed (\(failures)), the killed worker had served \(servedByVictim) and \(inFlight ? "held a request" : "was idle") when killed; replacement ready \(String(format: "%.2f", replacedAfter)) s after the kill"
        )
        // 503 comes from a replacement worker answering before its model is loaded (the known
        // issue below); every other failure must be nginx's 502 for the request in flight.
        let unavailable = failures.filter { $0.hasSuffix(": 503") }
        let broken = failures.filter { !$0.hasSuffix(": 503") }
        #expect(broken.allSatisfy { $0.hasSuffix(": 502") }, "only requests on the killed worker fail, with nginx's 502: \(failures)")
        #expect(broken.count <= load.count, "at most the request in flight per client fails: \(failures)")
        #expect(succeededAfterKill + unavailable.count >= 2 * requests - linesAtKill.reduce(0, +) - 2 * load.count)
        #expect(unavailable.isEmpty, "requests after the kill answered 503 by the warming replacement: \(unavailable)")
        #expect(service.log.contains("(pid \(victim)) died"), "the master noticed the death:\n\(service.log.suffix(3000))")

        // Afterwards: the pool has its two workers and every request succeeds with the right answer.
        #expect(service.workerPIDs.count == 2)
        for _ in 0..<6 {
            let answer = try await service.https.postJSON("/embed/queries", object: ["queries": reference.queries[0].text])
            let rows = matrix((answer.object?["embeddings"] as? [Any])?.first)
            #expect(
                answer.status == 200 && rows.flatMap { maxAbsDifference($0, reference.queries[0].embedding) }.map { $0 <= 1e-4 } == true,
                "\(answer)")
        }
        let stopped = try await service.stop()
        #expect(stopped.master == "exit 0", "\(service.log.suffix(2000))")
    }

    /// SIGTERM to the master while two requests are inside workers (accepted, body half sent):
    /// the pool drains, both complete with 200 and the right answer, then the master exits 0.
    @Test func sigtermDrainsRequestsInFlight() async throws {
        let reference = try Reference.load()
        let service = try await ServiceInstance.started(workers: 2, withNginx: false)
        defer { service.terminate() }
        let workers = service.workerPIDs
        let baseline = Dictionary(uniqueKeysWithValues: workers.map { ($0, socketDescriptors(of: $0)) })
        let accepted = {
            workers.reduce(0) { $0 + socketDescriptors(of: $1).subtracting(baseline[$1] ?? []).count }
        }

        let queries = reference.queries
        var requests: [SlowFastCGIRequest] = []
        for query in queries.prefix(2) {
            requests.append(
                SlowFastCGIRequest(
                    socketPath: service.socketPath, path: "/embed/queries", contentType: "application/json",
                    body: Array(try jsonText(["queries": [query.text]]).utf8)))
        }
        defer { requests.forEach { $0.finish() } }
        try await eventually(timeout: 30, "both requests to be accepted by workers") {
            requests.allSatisfy(\.firstHalfSent) && accepted() >= requests.count
        }

        service.master.signal(SIGTERM)
        // The pool waits for them: the master is still there a second later.
        try await Task.sleep(for: .seconds(1))
        #expect(!service.master.hasExited, "the master waits for requests in flight:\n\(service.log.suffix(2000))")
        requests.forEach { $0.finish() }

        try await eventually(timeout: 60, "the requests in flight to complete") { requests.allSatisfy { $0.outcome != nil } }
        for (request, query) in zip(requests, queries) {
            switch request.outcome {
            case .answered(let answer)?:
                #expect(answer.status == 200, "\(String(decoding: answer.body.prefix(300), as: UTF8.self))")
                let rows = matrix((answer.json?["embeddings"] as? [Any])?.first)
                let diff = rows.flatMap { maxAbsDifference($0, query.embedding) }
                #expect(diff.map { $0 <= 1e-4 } == true, "answer of \(query.text): difference \(String(describing: diff))")
            case .failed(let message)?:
                Issue.record("request in flight failed: \(message)\n\(service.log.suffix(3000))")
            case nil:
                Issue.record("no outcome")
            }
        }
        let status = try await service.master.waitForExit(timeout: 60)
        #expect(status == "exit 0", "\(service.log.suffix(3000))")
        #expect(workers.allSatisfy { kill($0, 0) != 0 }, "the workers are gone")
    }
}

/// Requests straight to the pool's socket from plain threads while a worker is killed and
/// replaced: while the other worker is ready, no request should be answered 503.
@Suite(.timeLimit(.minutes(3)))
struct ReplacementWarmupTests {
    /// What the hammering threads saw, with the time of each answer.
    final class Tally: Sendable {
        struct Entry: Sendable {
            let time: Date
            let status: Int?
            let detail: String
        }

        private let entries = Mutex<[Entry]>([])
        private let running = Mutex(true)

        var isRunning: Bool { running.withLock { $0 } }
        func stop() { running.withLock { $0 = false } }
        func add(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        var all: [Entry] { entries.withLock { $0 } }
    }

    @Test func replacementWorkerDoesNotAnswer503WhileAnotherIsReady() async throws {
        let service = try await ServiceInstance.started(workers: 2, withNginx: false)
        defer { service.terminate() }
        let tally = Tally()
        let socketPath = service.socketPath
        var threads: [Thread] = []
        for _ in 0..<4 {
            let thread = Thread {
                // Bounded: stops when told, or after 60 s.
                let deadline = Date().addingTimeInterval(60)
                while tally.isRunning && Date() < deadline {
                    switch SlowFastCGIRequest.send(socketPath: socketPath, path: "/info", timeoutSeconds: 20) {
                    case .answered(let answer):
                        tally.add(
                            .init(time: Date(), status: answer.status, detail: String(decoding: answer.body.prefix(160), as: UTF8.self)))
                    case .failed(let message):
                        tally.add(.init(time: Date(), status: nil, detail: message))
                    }
                }
            }
            thread.start()
            threads.append(thread)
        }
        defer { tally.stop() }
        try await Task.sleep(for: .milliseconds(300))

        let victim = try #require(service.workerPIDs.first)
        let killedAt = Date()
        kill(victim, SIGKILL)
        try await eventually(timeout: 60, "the replacement to be ready:\n\(service.log.suffix(3000))") {
            let live = service.workerPIDs
            return live.count == 2 && !live.contains(victim) && live.allSatisfy { service.readyPIDs.contains($0) }
        }
        let readyAt = Date()
        try await Task.sleep(for: .milliseconds(300))
        tally.stop()
        try await eventually(timeout: 30, "the load threads to finish") { threads.allSatisfy(\.isFinished) }

        let entries = tally.all
        let unavailable = entries.filter { $0.status == 503 }
        let broken = entries.filter { $0.status == nil }
        let others = entries.filter { $0.status != nil && $0.status != 200 && $0.status != 503 }
        let window = entries.filter { $0.time > killedAt && $0.time <= readyAt }
        report(
            "replacement warm-up: \(entries.count) requests on the socket, \(window.count) while the replacement warmed up (\(String(format: "%.2f", readyAt.timeIntervalSince(killedAt))) s); \(unavailable.count) answered 503, \(broken.count) broken by the kill; first 503: \(unavailable.first?.detail ?? "-")"
        )
        #expect(entries.count > 20, "the load ran")
        #expect(broken.count <= 4, "only requests in flight on the killed worker (4 slots) break: \(broken.map(\.detail))")
        #expect(others.isEmpty, "\(others.map { "\($0.status ?? 0) \($0.detail)" })")
        #expect(unavailable.count == 0, "a ready pool answered 503 while replacing a worker: \(unavailable.first?.detail ?? "")")
        let stopped = try await service.stop()
        #expect(stopped.master == "exit 0")
    }
}
