import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// Every forward pass of a worker runs on its one compute thread (`SerialThread`), whichever of
/// its FastCGI threads leads the batch, so libtorch keeps one OpenMP team per worker. Before,
/// each FastCGI thread that led a pass grew a team of its own (one more helper thread per
/// leader), and libgomp, managing more threads than CPUs, woke its helpers by futex per operator.
@Suite(.timeLimit(.minutes(5)))
struct ComputeThreadTests {
    static func threads(_ pid: pid_t) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? -1
    }

    @Test func concurrentLeadersAddNoThreads() async throws {
        // 2 libtorch threads (a team with one helper), 4 request slots (4 possible leaders).
        let service = try await ServiceInstance.started(
            workers: 1, https: false, overrides: ["CPU_THREADS": "2", "COLPALI_REQUESTS_PER_WORKER": "4"])
        defer { service.terminate() }
        let pid = try #require(service.workerPIDs.first)
        let http = service.http
        let warm = try await http.postJSON("/embed/queries", #"{"queries": ["warm up the one team"]}"#)
        #expect(warm.status == 200, "\(warm)")
        let before = Self.threads(pid)
        // Rounds of 4 concurrent requests: the request threads take turns leading batches.
        for round in 0..<6 {
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        try await http.postJSON("/embed/queries", #"{"queries": ["round \#(round) request \#(index) revenue"]}"#).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == [200, 200, 200, 200], "round \(round): \(statuses)")
        }
        let after = Self.threads(pid)
        print("worker \(pid): \(before) threads after the first query, \(after) after 24 concurrent ones")
        #expect(before > 0)
        #expect(after == before, "the worker grew from \(before) to \(after) threads")
    }
}
