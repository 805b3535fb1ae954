import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// The attacks of issue 12 against one worker through nginx, with the worker's memory read
/// from /proc: each refusal's peak (VmHWM, reset before each attack) stays within 64 MB
/// beyond its body, the answer stays small, and the worker's RSS returns near where it was.
/// (Against the build before these bounds: +3 GB peaks, 388 MB answers, 5.5 GB kept.)
@Suite(.timeLimit(.minutes(10)))
struct AbuseMemoryTests {
    /// The kB fields `names` ("Name:   123 kB" lines) of the /proc file at `path`; -1 for one missing.
    static func kilobytes(_ names: [String], in path: String) -> [Int] {
        let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
        return names.map { name in
            guard let line = lines.first(where: { $0.hasPrefix(name + ":") }) else { return -1 }
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
    }

    /// kB fields of /proc/PID/status.
    static func memory(_ pid: pid_t) -> (rss: Int, peak: Int) {
        let fields = kilobytes(["VmRSS", "VmHWM"], in: "/proc/\(pid)/status")
        return (fields[0], fields[1])
    }

    /// Anonymous memory (kB) of PID: the heap and stacks, not the mapped weight files.
    static func anonymous(_ pid: pid_t) -> Int {
        kilobytes(["Anonymous"], in: "/proc/\(pid)/smaps_rollup")[0]
    }

    /// A `side` x `side` 24-bit BMP of a gradient (12 MB at 2048).
    static func bitmap(side: Int) -> [UInt8] {
        let row = (side * 3 + 3) / 4 * 4
        var bytes = [UInt8]()
        bytes.reserveCapacity(54 + row * side)
        // File header, then BITMAPINFOHEADER: (value, bytes) little-endian.
        let header: [(Int, Int)] = [
            (0x4D42, 2), (54 + row * side, 4), (0, 4), (54, 4),
            (40, 4), (side, 4), (side, 4), (1, 2), (24, 2), (0, 4), (row * side, 4), (2835, 4), (2835, 4), (0, 4), (0, 4),
        ]
        for (value, count) in header {
            for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
        }
        for y in 0..<side {
            for x in 0..<side { bytes += [UInt8(truncatingIfNeeded: x), UInt8(truncatingIfNeeded: y), UInt8(truncatingIfNeeded: x ^ y)] }
            bytes += [UInt8](repeating: 0, count: row - side * 3)
        }
        return bytes
    }

    /// Resets VmHWM to the current RSS (Linux clear_refs "5").
    static func resetPeak(_ pid: pid_t) {
        let fd = open("/proc/\(pid)/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }

    struct Attack {
        let name: String
        let path: String
        let contentType: String
        let body: [UInt8]
        let status: Int
    }

    static var attacks: [Attack] {
        let dimensions =
            Array(#"{"dimensions": ["#.utf8) + Array(Array(repeating: "{}", count: 2_000_000).joined(separator: ",").utf8)
            + Array("]}".utf8)
        let numbers =
            Array(#"{"queries": ["#.utf8) + Array(Array(repeating: "1", count: 1_000_000).joined(separator: ",").utf8) + Array("]}".utf8)
        let control = [UInt8](repeating: 0x01, count: 30 << 20)
        let longQuery = Array(#"{"queries": [""#.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 8 << 20) + Array(#""]}"#.utf8)
        return [
            Attack(name: "2 M empty dimensions (6 MB)", path: "/patches", contentType: "application/json", body: dimensions, status: 400),
            Attack(
                name: "1 M non-string queries (2 MB)", path: "/embed/queries", contentType: "application/json", body: numbers, status: 400),
            Attack(
                name: "30 MB control bytes as text/plain", path: "/embed/queries", contentType: "text/plain", body: control, status: 422),
            Attack(name: "one 8 MB query", path: "/embed/queries", contentType: "application/json", body: longQuery, status: 400),
        ]
    }

    @Test func refusalsCostBoundedMemoryAndAreGivenBack() async throws {
        let service = try await ServiceInstance.started(workers: 1, https: false)
        defer { service.terminate() }
        let pid = try #require(service.workerPIDs.first)
        var http = service.http
        // Generous for measuring a build without the bounds (the issue's figures: 12 s and more).
        http.maxTime = 300
        // Warm up: one real query, so the baseline includes what serving allocates anyway.
        let warm = try await http.postJSON("/embed/queries", #"{"queries": ["revenue 2023"]}"#)
        #expect(warm.status == 200, "\(warm)")
        let baseline = Self.memory(pid)
        var lines = ["worker pid \(pid): baseline RSS \(baseline.rss / 1024) MB"]
        var afterFirstRound = baseline
        // Twice: the model turns off mmap-backed allocation and trimming (AllocatorTuning),
        // and each accept thread has its own glibc arena, so retention shows over rounds.
        for (round, attack) in (Self.attacks + Self.attacks).enumerated() {
            if round == Self.attacks.count { afterFirstRound = Self.memory(pid) }
            let file = service.directory.file("attack-\(UInt32.random(in: 0...UInt32.max))")
            try Data(attack.body).write(to: URL(fileURLWithPath: file))
            let before = Self.memory(pid)
            Self.resetPeak(pid)
            let started = Date()
            let answer = try await http.postFile(attack.path, file: file, contentType: attack.contentType)
            let seconds = Date().timeIntervalSince(started)
            let after = Self.memory(pid)
            let transientMB = Double(after.peak - before.rss) / 1024
            let bodyMB = Double(attack.body.count) / 1_048_576
            lines.append(
                "\(attack.name): \(answer.status) in \(String(format: "%.2f", seconds)) s, answer \(answer.body.count) B, "
                    + "peak +\(String(format: "%.0f", transientMB)) MB over RSS (body \(String(format: "%.0f", bodyMB)) MB), "
                    + "RSS after \(after.rss / 1024) MB")
            #expect(answer.status == attack.status, "\(attack.name): \(answer)")
            #expect(answer.body.count < 8192, "\(attack.name): \(answer.body.count) byte answer")
            #expect(transientMB < bodyMB + 64, "\(attack.name): +\(transientMB) MB transient for a \(bodyMB) MB body")
            unlink(file)
        }
        let end = Self.memory(pid)
        lines.append(
            "RSS after one round \(afterFirstRound.rss / 1024) MB, after two \(end.rss / 1024) MB (baseline \(baseline.rss / 1024) MB)")
        print(lines.joined(separator: "\n"))
        // Refused large requests trim the heap (HeapRelease): without it one round left
        // +54 MB (the bodies in glibc's per-thread arenas), and more on later rounds.
        #expect(afterFirstRound.rss - baseline.rss < 48 * 1024, "the worker kept \((afterFirstRound.rss - baseline.rss) / 1024) MB")
        // The second round guards against retention that grows with every attack (the old worker
        // kept 2.9 GB, then 5.5 GB); its bound is looser because under a loaded machine glibc
        // was seen keeping up to +63 MB across two rounds even with the trim.
        #expect(end.rss - baseline.rss < 96 * 1024, "after two rounds the worker kept \((end.rss - baseline.rss) / 1024) MB")
    }

    /// Large pages taken by every accept thread at once, twice: afterwards the worker's anonymous
    /// memory is back within 24 MB of where one page left it (measured: +0). Without one arena
    /// (AllocatorTuning.useOneArena) each accept thread that took a page kept it, +87 and +81 MB
    /// after the rounds; without the image routes' trims (HeapRelease) +166 and +169 MB.
    @Test func pagesOnEveryAcceptThreadAreGivenBack() async throws {
        let slots = 4
        let service = try await ServiceInstance.started(
            workers: 1, https: false, overrides: ["COLPALI_REQUESTS_PER_WORKER": "\(slots)"])
        defer { service.terminate() }
        let pid = try #require(service.workerPIDs.first)
        var client = service.http
        client.maxTime = 300
        let http = client
        let file = service.directory.file("page.bmp")
        try Data(Self.bitmap(side: 2048)).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        @Sendable func page() async throws -> HTTPAnswer {
            try await http.postForm("/embed/images", [.file(name: "files", path: file, type: "image/bmp")])
        }
        #expect(try await http.postJSON("/embed/queries", #"{"queries": ["revenue 2023"]}"#).status == 200)
        #expect(try await page().status == 200)
        let afterOne = Self.anonymous(pid)
        var lines = ["worker pid \(pid): anonymous \(afterOne / 1024) MB after one page"]
        var rounds: [Int] = []
        for round in 1...2 {
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<slots { group.addTask { try await page().status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: slots), "round \(round): \(statuses)")
            rounds.append(Self.anonymous(pid))
            lines.append("after round \(round) (\(slots) pages at once): \(rounds.last! / 1024) MB")
        }
        print(lines.joined(separator: "\n"))
        #expect(afterOne > 0)
        for (index, anonymous) in rounds.enumerated() {
            #expect(anonymous - afterOne < 24 * 1024, "round \(index + 1): \(lines)")
        }
    }
}
