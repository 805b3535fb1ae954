import Foundation
import Glibc
import POSIX
import ProcessTestSupport
import Testing

@testable import WorkerPool

/// Draining on stop and rolling replacement.
@Suite struct SupervisorStopTests {
    @Test func stopWaitsForWorkersToFinishInFlightWork() async throws {
        // On SIGTERM the worker "finishes a request" for 1 s, then records that it did.
        let script = """
            trap 'sleep 1; echo drained > "$TEST_DIR/drained.$$"; exit 0' TERM
            echo ready >&3
            while :; do sleep 0.05; done
            """
        let pool = try PoolHarness(script: script, workers: 2, grace: .seconds(10))
        pool.start()
        try await pool.waitForReady(2)
        let pids = pool.supervisor.snapshot.workers.map(\.pid)
        pool.supervisor.requestStop()
        try await eventually(timeout: 10, "the socket path to disappear") { access(pool.socketPath, F_OK) != 0 }
        let result = try await pool.waitForExit(timeout: 20)
        #expect((try? result.get()) != nil)
        // Timed on the supervisor's own clock (event times), so a loaded machine cannot blur it.
        let timeline = pool.events.withLock { $0 }
        let stopping = try #require(timeline.first { if case .stopping = $0.event { true } else { false } }).time
        let stopped = try #require(timeline.first { $0.event == .stopped }).time
        #expect(stopped - stopping >= 0.9, "run() returned only after the workers drained (\(stopped - stopping) s)")
        for pid in pids {
            #expect(FileManager.default.fileExists(atPath: pool.directory.file("drained.\(pid)")))
            #expect(pool.eventList.contains { if case .exited(_, pid, .exited(0), _) = $0 { true } else { false } })
            #expect(!processExists(pid))
        }
        #expect(!pool.eventList.contains { if case .killed = $0 { true } else { false } })
    }

    @Test func stragglersAreKilledAfterTheGracePeriod() async throws {
        let script = """
            trap '' TERM
            echo ready >&3
            while :; do sleep 0.05; done
            """
        let pool = try PoolHarness(script: script, workers: 1, grace: .milliseconds(500))
        pool.start()
        try await pool.waitForReady(1)
        let pid = try #require(pool.supervisor.snapshot.workers.first?.pid)
        pool.supervisor.requestStop()
        let result = try await pool.waitForExit(timeout: 10)
        #expect((try? result.get()) != nil)
        // Timed on the supervisor's own clock (event times): this test's own clock once read 26 s
        // for the 0.5 s grace period in a loaded CI run, the test task not being scheduled.
        let timeline = pool.events.withLock { $0 }
        let stopping = try #require(timeline.first { if case .stopping = $0.event { true } else { false } }).time
        let killed = try #require(timeline.first { $0.event == .killed(slot: 0, pid: pid) }, "the straggler was killed").time
        #expect(killed - stopping >= 0.45 && killed - stopping < 15, "waited the grace period, then killed (\(killed - stopping) s)")
        #expect(pool.eventList.contains(.exited(slot: 0, pid: pid, status: .signaled(signal: SIGKILL, coreDumped: false), wasReady: true)))
        #expect(pool.logs.messages(atLeast: .warning).contains { $0.contains("grace period") && $0.contains("SIGKILL") })
    }

    @Test func aSecondStopRequestKillsAtOnce() async throws {
        let script = """
            trap '' TERM
            echo ready >&3
            while :; do sleep 0.05; done
            """
        let pool = try PoolHarness(script: script, workers: 2, grace: .seconds(60))
        pool.start()
        try await pool.waitForReady(2)
        let stopAt = MonotonicTime.now()
        pool.supervisor.requestStop()
        try await Task.sleep(for: .milliseconds(200))
        #expect(pool.result == nil)
        let secondAt = MonotonicTime.now()
        pool.supervisor.requestStop()
        // Bounds far below the 60 s grace, not tight ones: a loaded CI machine once took 5 s to
        // resume this test's 200 ms sleep (15.06 s in all against a 15 s bound).
        _ = try await pool.waitForExit(timeout: 40)
        #expect(MonotonicTime.now() - secondAt < 45, "well before the 60 s grace period")
        #expect(MonotonicTime.now() - stopAt < 59, "not after the grace period")
        #expect(pool.eventList.filter { if case .killed = $0 { true } else { false } }.count == 2)
    }

    @Test func rollingRestartKeepsAllButOneWorkerReady() async throws {
        // Slow to start and slow to drain, so overlaps would show.
        let script = """
            trap 'sleep 0.2; exit 0' TERM
            sleep 0.3
            echo ready >&3
            while :; do sleep 0.05; done
            """
        let workers = 3
        let readyPids = Locked<Set<Int32>>([])
        let fewestReady = Locked<Int?>(nil)
        let rolling = Locked(false)
        let pool = try PoolHarness(script: script, workers: workers, grace: .seconds(10)) { event in
            readyPids.withLock { ready in
                switch event {
                case .ready(_, let pid): ready.insert(pid)
                case .terminating(_, let pid), .exited(_, let pid, _, _): ready.remove(pid)
                default: break
                }
                if rolling.withLock({ $0 }) {
                    fewestReady.withLock { $0 = min($0 ?? ready.count, ready.count) }
                }
            }
        }
        pool.start()
        try await pool.waitForReady(workers)
        let before = Set(pool.supervisor.snapshot.workers.map(\.pid))
        rolling.withLock { $0 = true }
        pool.supervisor.requestRollingRestart()
        try await eventually(timeout: 20, "the rollout to finish") {
            pool.eventList.contains(.rolloutFinished(generation: 2))
        }
        let after = pool.supervisor.snapshot
        #expect(after.workers.count == workers)
        #expect(after.workers.allSatisfy { $0.state == .ready && $0.generation == 2 })
        #expect(Set(after.workers.map(\.pid)).isDisjoint(with: before), "every worker was replaced")
        let minimum = try #require(fewestReady.withLock { $0 })
        #expect(minimum >= workers - 1, "never fewer than N-1 ready workers (saw \(minimum))")
        // One at a time: never more than one replacement or retiring worker at once.
        #expect(pool.eventList.filter { if case .spawned(_, _, 2) = $0 { true } else { false } }.count == workers)
        for pid in before { #expect(!processExists(pid)) }
        await pool.shutdown()
    }

    @Test func aFailingReplacementAbandonsTheRolloutAndKeepsTheOldWorkers() async throws {
        // Generation 2 cannot start (e.g. a broken model update); generation 1 keeps serving.
        let script = """
            if [ "$COLPALI_WORKER_GENERATION" = 2 ]; then exit 4; fi
            \(FakeWorker.readyAndIdle)
            """
        let pool = try PoolHarness(
            script: script, workers: 2,
            crashLoop: CrashLoopPolicy(maximumDeaths: 1, window: .seconds(60), maximumConsecutiveFailedStarts: 1))
        pool.start()
        try await pool.waitForReady(2)
        let before = pool.supervisor.snapshot.workers.map(\.pid)
        pool.supervisor.requestRollingRestart()
        try await eventually(timeout: 10, "the rollout to be abandoned") {
            pool.eventList.contains { if case .rolloutAbandoned(2, _) = $0 { true } else { false } }
        }
        try await Task.sleep(for: .milliseconds(200))
        let after = pool.supervisor.snapshot
        #expect(after.workers.map(\.pid) == before)
        #expect(after.workers.allSatisfy { $0.state == .ready })
        #expect(pool.result == nil, "a failed replacement is not a crash loop")
        await pool.shutdown()
    }

    @Test func aReplacementThatNeverGetsReadyTimesOut() async throws {
        let script = """
            if [ "$COLPALI_WORKER_GENERATION" = 2 ]; then exec 3>&-; while :; do sleep 0.05; done; fi
            \(FakeWorker.readyAndIdle)
            """
        let pool = try PoolHarness(script: script, workers: 1, readyTimeout: .milliseconds(400))
        pool.start()
        try await pool.waitForReady(1)
        let original = try #require(pool.supervisor.snapshot.workers.first?.pid)
        pool.supervisor.requestRollingRestart()
        try await eventually(timeout: 10, "the rollout to be abandoned") {
            pool.eventList.contains { if case .rolloutAbandoned(2, let reason) = $0 { reason.contains("not ready within") } else { false } }
        }
        try await eventually(timeout: 5, "the stuck replacement to be reaped") {
            pool.supervisor.snapshot.workers.count == 1
        }
        #expect(pool.supervisor.snapshot.workers.first?.pid == original)
        await pool.shutdown()
    }
}

/// Real signals through the relay (its own tests are POSIXTests.SignalRelayTests, which use
/// other signals). Serialized: signal dispositions are process-wide.
@Suite(.serialized) struct SignalTests {
    @Test func sighupRollsAndSigtermStopsThePool() async throws {
        let relay = try SignalRelay.install([SIGTERM, SIGINT, SIGHUP])
        defer { relay.uninstall() }
        let pool = try PoolHarness(script: FakeWorker.readyAndIdle, workers: 2)
        pool.start(signals: relay)
        try await pool.waitForReady(2)
        kill(getpid(), SIGHUP)
        try await eventually(timeout: 15, "the SIGHUP rollout to finish") {
            pool.eventList.contains(.rolloutFinished(generation: 2))
        }
        kill(getpid(), SIGTERM)
        let result = try await pool.waitForExit(timeout: 10)
        #expect((try? result.get()) != nil)
        #expect(pool.eventList.contains(.stopping(reason: "SIGTERM (15) received")))
    }
}
