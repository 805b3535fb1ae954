import Foundation
import Glibc
import ProcessTestSupport
import Synchronization
import Testing

/// Pools on several hosts behind one nginx (COLPALI_UPSTREAMS): three network namespaces, two
/// pool hosts and an nginx host on point-to-point veth links, and one pool host killed under load.
///
/// Skipped only where network namespaces cannot be made (not root, no CAP_NET_ADMIN, no
/// iproute2): the skip names that reason in the test output.
@Suite struct MultiHostTests {
    static let poolPort = 9000
    static let httpPort = 8080
    /// Load: a few clients, bounded in requests and time.
    static let clients = 4
    static let maxRequests = 800
    /// How long the load runs on after the killed host is gone.
    static let afterKill: Duration = .seconds(5)

    @Test(
        .enabled(if: NetworkNamespaces.canCreate, "\(NetworkNamespaces.unavailableReason)"),
        .timeLimit(.minutes(2)))
    func aKilledPoolHostFailsOverWithNoFailuresBeyondThoseInFlight() async throws {
        let directory = try TestDirectory()
        let network = try NetworkNamespaces(logDirectory: directory.path)
        defer { network.close() }
        let front = try await network.host("n")
        let hostA = try await network.host("a")
        let hostB = try await network.host("b")
        try await network.link(front, "to-a", "10.77.1.1/24", hostA, "to-n", "10.77.1.2/24")
        try await network.link(front, "to-b", "10.77.2.1/24", hostB, "to-n", "10.77.2.2/24")
        let addressA = "10.77.1.2:\(Self.poolPort)"
        let addressB = "10.77.2.2:\(Self.poolPort)"

        // The pools: `colmodernvbert serve` on each host's private address (one worker each).
        let poolA = try pool(listen: addressA, in: hostA, network: network)
        defer { poolA.terminate() }
        let poolB = try pool(listen: addressB, in: hostB, network: network)
        defer { poolB.terminate() }
        // The nginx host: scripts/nginx.sh with both pools; plain HTTP on its own loopback.
        let nginxDirectory = try TestDirectory()
        var environment = try ServiceInstance.baseEnvironment(directory: nginxDirectory, workers: 1, https: false, http: false)
        environment["COLPALI_LISTEN"] = nil
        environment["COLPALI_UPSTREAMS"] = "\(addressA), \(addressB)"
        environment["COLPALI_HTTP_PORT"] = String(Self.httpPort)
        // Pool A, marked down by its first failure, is tried again a second later (within the
        // load's 5 s after the kill, unlike the default 10 s): those POSTs find its port closed
        // and must move on to B.
        environment["COLPALI_UPSTREAM_FAIL_TIMEOUT"] = "1s"
        let accessLog = nginxDirectory.file("access.log")
        environment["COLPALI_NGINX_ACCESS_LOG"] = accessLog
        let nginx = try ChildProcess(
            network.launcher(front) + [Paths.nginxScript, "run"], environment: environment, logPath: nginxDirectory.file("nginx.log"))
        defer { nginx.terminate() }

        try await poolA.waitForReady(timeout: 60)
        try await poolB.waitForReady(timeout: 60)
        #expect(poolA.log.contains("COLPALI_LISTEN=\(addressA) is not a loopback address"), "\(poolA.log.suffix(2000))")
        var client = HTTPClient(baseURL: "http://127.0.0.1:\(Self.httpPort)", directory: directory)
        client.maxTime = 30
        client.launcher = network.launcher(front)
        try await eventuallyAsync(timeout: 30, "nginx on the nginx host to answer; log:\n\(nginx.log.suffix(2000))") {
            if nginx.hasExited { throw NginxExited(log: nginx.log) }
            return (try? await client.get("/health").status) == 200
        }
        #expect(nginx.log.contains("-> \(addressA), \(addressB)"), "\(nginx.log.suffix(2000))")

        // Load, until both hosts have served requests; then SIGKILL pool A (master and workers).
        let load = Load()
        let started = ContinuousClock.now
        let clients = (0..<Self.clients).map { index in
            Task { [client] in await load.run(client: client, index: index, limit: Self.maxRequests) }
        }
        defer { load.stop() }
        try await eventually(timeout: 20, "both pool hosts to serve requests; access log:\n\(Self.lines(accessLog).suffix(20))") {
            let served = Self.servedBy(Self.lines(accessLog))
            return served[addressA, default: 0] >= 5 && served[addressB, default: 0] >= 5
        }
        let beforeKill = Self.lines(accessLog)
        let victims = [poolA.master.pid] + poolA.workerPIDs
        let killStart = ContinuousClock.now
        kill(-poolA.master.pid, SIGKILL)
        for pid in victims { kill(pid, SIGKILL) }
        try await poolA.master.waitForExit(timeout: 10)
        try await eventually(timeout: 10, "pool A's workers to die") { victims.allSatisfy(Self.isGone) }
        let killEnd = ContinuousClock.now
        let atKillEnd = Self.lines(accessLog).count
        try await Task.sleep(for: Self.afterKill)
        load.stop()
        for task in clients { await task.value }
        let records = load.records

        // Figures.
        let inFlight = records.filter { $0.start < killEnd && $0.end > killStart }
        let after = records.filter { $0.start >= killEnd }
        let failed = records.filter { !$0.succeeded }
        let logAfter = Self.lines(accessLog).dropFirst(atKillEnd)
        let servedBefore = Self.servedBy(beforeKill)
        let servedAfter = Self.servedBy(Array(logAfter))
        let movedOn = logAfter.filter {
            $0.contains("\"POST /embed/queries HTTP/1.1\" 200 ") && $0.contains("pool=\(addressA), \(addressB)")
        }
        .count
        print(
            """
            multi-host: \(records.count) requests in \(ContinuousClock.now - started) by \(Self.clients) clients; \
            before the kill A served \(servedBefore[addressA, default: 0]), B \(servedBefore[addressB, default: 0]); \
            kill took \(killEnd - killStart) (\(victims.count) processes); \(inFlight.count) in flight at the kill, \
            \(failed.count) failed (statuses \(failed.map(\.statusText))); \(after.count) after it, served by B \
            \(servedAfter[addressB, default: 0]) (\(movedOn) moved on from A, A \(servedAfter[addressA, default: 0]))
            """)

        // Both hosts served before the kill (nginx's access log names the pool that answered).
        #expect(servedBefore[addressA, default: 0] >= 5 && servedBefore[addressB, default: 0] >= 5, "\(servedBefore)")
        // Failures only among the requests in flight while pool A died.
        for record in failed {
            #expect(
                record.start < killEnd && record.end > killStart,
                "request \(record.index) failed (\(record.statusText)) outside the kill: started \(record.start - killStart) after it began"
            )
        }
        // The survivor keeps answering: every request after the kill succeeded, from B.
        #expect(after.count >= 10, "only \(after.count) requests after the kill")
        let failedAfter = after.filter { !$0.succeeded }.map(\.statusText)
        #expect(failedAfter.isEmpty, "after the kill: \(failedAfter)")
        #expect(servedAfter[addressB, default: 0] >= after.count, "\(servedAfter), \(after.count) requests after the kill")
        // A POST refused by the dead host (never sent) moved on to B: no non_idempotent needed.
        #expect(movedOn >= 1, "no request moved on from A to B; access log after the kill:\n\(logAfter.suffix(10))")
        #expect(!poolB.master.hasExited && !nginx.hasExited)
    }

    /// A pool host: `colmodernvbert serve` inside `namespace`, listening on `listen` (TCP).
    func pool(listen: String, in namespace: String, network: NetworkNamespaces) throws -> ServiceInstance {
        try ServiceInstance(
            workers: 1, withNginx: false, overrides: ["COLPALI_LISTEN": listen], launcher: network.launcher(namespace))
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Successful requests per pool address, from access log lines (`... 200 ... pool=A rid=...`):
    /// the address that answered is the last one nginx tried.
    static func servedBy(_ lines: [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in lines where line.contains("\" 200 ") {
            guard let range = line.range(of: " pool=") else { continue }
            let rest = line[range.upperBound...]
            let list = rest.range(of: " rid=").map { rest[..<$0.lowerBound] } ?? rest
            if let last = list.split(separator: ",").last { counts[last.trimmingCharacters(in: .whitespaces), default: 0] += 1 }
        }
        return counts
    }

    /// Exited (no such process) or a zombie (its sockets are closed).
    static func isGone(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return true }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}

/// Bounded client load: each client posts a query again and again until stopped or the shared
/// request budget is spent, recording when each request started and ended and how it ended.
final class Load: Sendable {
    struct Record: Sendable {
        let index: Int
        let start: ContinuousClock.Instant
        let end: ContinuousClock.Instant
        /// The HTTP status, or nil when curl got no answer.
        let status: Int?
        var succeeded: Bool { status == 200 }
        var statusText: String { status.map(String.init) ?? "no answer" }
    }

    private let state = Mutex<(running: Bool, issued: Int, records: [Record])>((true, 0, []))

    var records: [Record] { state.withLock { $0.records } }

    func stop() { state.withLock { $0.running = false } }

    func run(client: HTTPClient, index: Int, limit: Int) async {
        while true {
            let number: Int? = state.withLock { state in
                guard state.running, state.issued < limit else { return nil }
                state.issued += 1
                return state.issued
            }
            guard let number else { return }
            let start = ContinuousClock.now
            let status = try? await client.postJSON("/embed/queries", object: ["queries": ["client \(index) request \(number)"]]).status
            let record = Record(index: number, start: start, end: ContinuousClock.now, status: status)
            state.withLock { $0.records.append(record) }
        }
    }
}

struct NginxExited: Error, CustomStringConvertible {
    let log: String
    var description: String { "nginx exited:\n\(log.suffix(3000))" }
}
