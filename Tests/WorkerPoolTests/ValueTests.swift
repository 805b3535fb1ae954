import Foundation
import Glibc
import POSIX
import ProcessTestSupport
import Testing

@testable import WorkerPool

@Suite struct RestartBackoffTests {
    @Test func doublesFromInitialUpToMaximum() {
        let backoff = RestartBackoff(initial: .milliseconds(100), maximum: .milliseconds(700), resetAfter: .seconds(5))
        let delays = (1...7).map { backoff.delay(afterConsecutiveDeaths: $0) }
        #expect(
            delays == [
                .zero, .milliseconds(100), .milliseconds(200), .milliseconds(400),
                .milliseconds(700), .milliseconds(700), .milliseconds(700),
            ])
        #expect(backoff.delay(afterConsecutiveDeaths: 10_000) == .milliseconds(700))
    }
}

@Suite struct ProcessExitStatusTests {
    @Test func decodesWaitStatuses() {
        #expect(ProcessExitStatus(waitStatus: 0) == .exited(code: 0))
        #expect(ProcessExitStatus(waitStatus: 3 << 8) == .exited(code: 3))
        #expect(ProcessExitStatus(waitStatus: SIGKILL) == .signaled(signal: SIGKILL, coreDumped: false))
        #expect(ProcessExitStatus(waitStatus: SIGSEGV | 0x80) == .signaled(signal: SIGSEGV, coreDumped: true))
        #expect(ProcessExitStatus.signaled(signal: SIGKILL, coreDumped: false).description == "signal SIGKILL (9)")
        #expect(ProcessExitStatus.exited(code: 3).description == "exit status 3")
    }

    @Test func decodesRealChildren() throws {
        for (script, expected) in [
            ("exit 7", ProcessExitStatus.exited(code: 7)),
            ("kill -TERM $$", .signaled(signal: SIGTERM, coreDumped: false)),
        ] {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(script), nil]
            defer { argv.forEach { free($0) } }
            // Test threads may block signals; the child must not inherit that mask.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var empty = sigset_t()
            sigemptyset(&empty)
            posix_spawnattr_setsigmask(&attributes, &empty)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
            #expect(posix_spawn(&pid, "/bin/sh", nil, &attributes, argv, environ) == 0)
            var status: Int32 = 0
            #expect(waitpid(pid, &status, 0) == pid)
            #expect(ProcessExitStatus(waitStatus: status) == expected)
        }
    }
}

/// The generic writer; the service's warm-up document is tested in EmbeddingServiceTests.
@Suite struct StateFileTests {
    @Test func corruptDocumentIsADecodingError() throws {
        struct Document: Codable { var value: Int }
        let directory = try TemporaryDirectory()
        let file = StateFile(directory: directory.path, name: "s.json")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data("{not json".utf8)))
        #expect {
            try file.read(Document.self)
        } throws: { error in
            if case StateFileError.decoding(let path, _) = error { return path == file.path }
            return false
        }
    }

    /// A reader polling while a writer replaces the file never sees a partial document.
    @Test func readersNeverSeeTornWrites() async throws {
        let directory = try TemporaryDirectory()
        let file = StateFile(directory: directory.path, name: "big.json")
        struct Big: Codable, Equatable { var values: [Int] }
        try file.write(Big(values: Array(repeating: 0, count: 50_000)))
        let done = Locked(false)
        let writer = Task.detached {
            defer { done.withLock { $0 = true } }
            for round in 1...30 { try file.write(Big(values: Array(repeating: round, count: 50_000))) }
        }
        var reads = 0
        while !done.withLock({ $0 }) || reads == 0 {
            let big = try #require(try file.read(Big.self))
            #expect(Set(big.values).count == 1 && big.values.count == 50_000)
            reads += 1
            await Task.yield()
        }
        try await writer.value
        #expect(try file.read(Big.self)?.values.first == 30)
    }
}

@Suite struct WorkerChannelTests {
    @Test func absentOutsideASupervisor() {
        #expect(WorkerChannel(environment: [:]) == nil)
    }

    @Test func announcesReadyOnceAndReportsMasterExit() async throws {
        let (readyMaster, readyWorker) = try Descriptors.cloexecSocketPair()
        let (lifelineMaster, lifelineWorker) = try Descriptors.cloexecSocketPair()
        defer {
            close(readyMaster)
            close(lifelineWorker)
        }
        let channel = try #require(
            WorkerChannel(environment: [
                "COLPALI_WORKER_READY_FD": String(readyWorker),
                "COLPALI_WORKER_LIFELINE_FD": String(lifelineWorker),
                "COLPALI_WORKER_INDEX": "2",
                "COLPALI_WORKER_GENERATION": "5",
            ]))
        #expect(channel.slot == 2 && channel.generation == 5)
        try channel.announceReady()
        try channel.announceReady()  // second call: nothing (the descriptor is closed)
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { read(readyMaster, $0.baseAddress, $0.count) }
        #expect(String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "ready\n")
        #expect(buffer.withUnsafeMutableBytes { read(readyMaster, $0.baseAddress, $0.count) } == 0, "closed after announcing")

        let gone = Locked(false)
        channel.watchMaster { gone.withLock { $0 = true } }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!gone.withLock { $0 }, "master still alive")
        close(lifelineMaster)  // what the kernel does when the master dies
        try await eventually(timeout: 5, "lifeline EOF") { gone.withLock { $0 } }
    }
}
