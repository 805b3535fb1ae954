import Foundation
import Glibc
import POSIX
import ProcessTestSupport
import Testing

@testable import WorkerPool

/// Restarts, backoff and giving up.
@Suite struct SupervisorRestartTests {
    @Test func replacesAWorkerKilledWithSigkill() async throws {
        let pool = try PoolHarness(script: FakeWorker.readyAndIdle, workers: 2)
        pool.start()
        try await pool.waitForReady(2)
        let victim = try #require(pool.supervisor.snapshot.workers.first { $0.slot == 1 })
        let survivor = try #require(pool.supervisor.snapshot.workers.first { $0.slot == 0 })
        #expect(kill(victim.pid, SIGKILL) == 0)
        try await eventually(timeout: 10, "slot 1 to be served by a new ready worker") {
            let workers = pool.supervisor.snapshot.workers
            return workers.contains { $0.slot == 1 && $0.pid != victim.pid && $0.state == .ready }
        }
        let events = pool.eventList
        #expect(events.contains(.exited(slot: 1, pid: victim.pid, status: .signaled(signal: SIGKILL, coreDumped: false), wasReady: true)))
        #expect(
            events.contains(.restartScheduled(slot: 1, delay: .zero, consecutiveDeaths: 1)),
            "first death after a healthy run restarts at once")
        #expect(pool.supervisor.snapshot.workers.contains { $0.pid == survivor.pid && $0.state == .ready }, "the other worker is untouched")
        #expect(pool.logs.messages(atLeast: .error).contains { $0.contains("pid \(victim.pid)") && $0.contains("SIGKILL") })
        await pool.shutdown()
    }

    @Test func backoffGrowsWhileAWorkerKeepsDying() async throws {
        let pool = try PoolHarness(
            script: FakeWorker.crash, workers: 1,
            backoff: RestartBackoff(initial: .milliseconds(40), maximum: .milliseconds(320), resetAfter: .seconds(60)))
        pool.start()
        try await eventually(timeout: 15, "six scheduled restarts") {
            pool.eventList.filter { if case .restartScheduled = $0 { true } else { false } }.count >= 6
        }
        await pool.shutdown()
        let timeline = pool.events.withLock { $0 }
        let delays = timeline.compactMap { entry -> Duration? in
            if case .restartScheduled(_, let delay, _) = entry.event { return delay }
            return nil
        }
        #expect(
            Array(delays.prefix(6)) == [
                .zero, .milliseconds(40), .milliseconds(80), .milliseconds(160),
                .milliseconds(320), .milliseconds(320),
            ])
        // The spawns really are spaced out by (at least) those delays.
        let spawnTimes = timeline.compactMap { entry -> Double? in
            if case .spawned = entry.event { return entry.time }
            return nil
        }
        let exitTimes = timeline.compactMap { entry -> Double? in
            if case .exited = entry.event { return entry.time }
            return nil
        }
        try #require(spawnTimes.count >= 6 && exitTimes.count >= 5)
        for i in 1..<5 {
            let expected = delays[i].inSeconds
            #expect(spawnTimes[i + 1] - exitTimes[i] >= expected * 0.9, "restart \(i + 1) waited its backoff")
        }
    }

    @Test func givesUpLoudlyOnACrashLoop() async throws {
        let pool = try PoolHarness(
            script: FakeWorker.crash, workers: 2,
            backoff: RestartBackoff(initial: .milliseconds(10), maximum: .milliseconds(50)),
            crashLoop: CrashLoopPolicy(maximumDeaths: 4, window: .seconds(30), maximumConsecutiveFailedStarts: 100))
        pool.start()
        let result = try await pool.waitForExit(timeout: 15)
        guard case .failure(.crashLoop(let reason)) = result else {
            Issue.record("expected a crash-loop failure, got \(result)")
            return
        }
        #expect(reason.contains("4 workers died within 30 s without becoming ready"))
        #expect(reason.contains("exit status 3"))
        let critical = pool.logs.messages(atLeast: .critical)
        #expect(critical.count == 1 && critical[0].contains("crash-looping, giving up"))
        #expect(pool.eventList.contains(.gaveUp(reason: reason)))
        #expect(pool.supervisor.snapshot.workers.isEmpty && pool.supervisor.snapshot.phase == .stopped)
        #expect(access(pool.socketPath, F_OK) != 0)
        let events = pool.eventList
        let gaveUpAt = try #require(events.firstIndex { if case .gaveUp = $0 { true } else { false } })
        #expect(!events[gaveUpAt...].contains { if case .spawned = $0 { true } else { false } }, "no worker is started after giving up")
    }

    @Test func givesUpAfterConsecutiveFailedStartsEvenWhenSpreadOut() async throws {
        let pool = try PoolHarness(
            script: FakeWorker.crash, workers: 1,
            backoff: RestartBackoff(initial: .milliseconds(10), maximum: .milliseconds(20)),
            crashLoop: CrashLoopPolicy(maximumDeaths: 1000, window: .seconds(1), maximumConsecutiveFailedStarts: 3))
        pool.start()
        let result = try await pool.waitForExit(timeout: 15)
        guard case .failure(.crashLoop(let reason)) = result else {
            Issue.record("expected a crash-loop failure, got \(result)")
            return
        }
        #expect(reason.contains("3 worker starts in a row failed before ready"))
    }

    @Test func anExecutableThatCannotBeSpawnedCountsAsAFailedStart() async throws {
        let pool = try PoolHarness(
            script: "", workers: 1,
            backoff: RestartBackoff(initial: .milliseconds(10), maximum: .milliseconds(20)),
            crashLoop: CrashLoopPolicy(maximumDeaths: 3, window: .seconds(30)),
            executable: "/nonexistent/worker")
        pool.start()
        let result = try await pool.waitForExit(timeout: 15)
        guard case .failure(.crashLoop(let reason)) = result else {
            Issue.record("expected a crash-loop failure, got \(result)")
            return
        }
        #expect(reason.contains("spawn failed"))
        #expect(pool.eventList.contains { if case .spawnFailed(_, let e) = $0 { e.errno == ENOENT } else { false } })
    }

    @Test func readyWorkersThatDieLaterAreNotACrashLoop() async throws {
        // Ready, then die after a moment: restarted with backoff, never "given up".
        let script = """
            echo ready >&3
            sleep 0.1
            exit 1
            """
        let pool = try PoolHarness(
            script: script, workers: 1,
            backoff: RestartBackoff(initial: .milliseconds(10), maximum: .milliseconds(20)),
            crashLoop: CrashLoopPolicy(maximumDeaths: 2, window: .seconds(30), maximumConsecutiveFailedStarts: 2))
        pool.start()
        try await eventually(timeout: 15, "five deaths of ready workers") {
            pool.eventList.filter { if case .exited(_, _, _, true) = $0 { true } else { false } }.count >= 5
        }
        #expect(pool.result == nil, "still supervising")
        await pool.shutdown()
        #expect(!pool.eventList.contains { if case .gaveUp = $0 { true } else { false } })
    }
}

@Suite struct SupervisorStartTests {
    @Test func givingUpDuringTheFirstSpawnsStartsNoMoreWorkers() async throws {
        let pool = try PoolHarness(
            script: "", workers: 3,
            crashLoop: CrashLoopPolicy(maximumDeaths: 1, window: .seconds(30)),
            executable: "/nonexistent/worker")
        pool.start()
        let result = try await pool.waitForExit(timeout: 15)
        guard case .failure(.crashLoop) = result else {
            Issue.record("expected a crash-loop failure, got \(result)")
            return
        }
        let attempts = pool.eventList.filter { if case .spawnFailed = $0 { true } else { false } }
        #expect(attempts.count == 1)
    }

    @Test func rejectsAnEmptyPool() throws {
        let directory = try TemporaryDirectory()
        let listener = try ListeningSocket.bind(.unix(path: directory.file("s.sock")))
        #expect(throws: SupervisorError.self) {
            try Supervisor(
                configuration: SupervisorConfiguration(command: WorkerCommand(executable: "/bin/true", environment: [:]), workerCount: 0),
                listener: listener)
        }
    }
}
