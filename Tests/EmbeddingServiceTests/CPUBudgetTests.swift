import Foundation
import Testing

@testable import EmbeddingService

/// A fake root with /proc/self/{status,cgroup} and /sys/fs/cgroup files.
private struct FakeRoot {
    let url: URL

    init(files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cpubudget-\(UUID().uuidString)")
        for (path, text) in files {
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
        }
    }

    var budget: CPUBudget { CPUBudget.current(root: url.path) }

    static func status(_ list: String) -> String {
        "Name:\tcolmodernvbert\nCpus_allowed:\tff\nCpus_allowed_list:\t\(list)\nMems_allowed_list:\t0\n"
    }
}

@Suite struct CPUBudgetTests {
    @Test func cpuListsCount() {
        #expect(CPUBudget.count(cpuList: "0-1") == 2)
        #expect(CPUBudget.count(cpuList: " 0-3,8,10-11\n") == 7)
        #expect(CPUBudget.count(cpuList: "5") == 1)
        #expect(CPUBudget.count(cpuList: "3-1") == nil)
        #expect(CPUBudget.count(cpuList: "x") == nil)
    }

    @Test func maskAloneWhenNoQuota() throws {
        let root = try FakeRoot(files: [
            "proc/self/status": FakeRoot.status("0-15"), "proc/self/cgroup": "0::/user.slice\n",
            "sys/fs/cgroup/user.slice/cpu.max": "max 100000\n",
        ])
        #expect(root.budget == CPUBudget(allowed: 16))
        #expect(root.budget.cpus == 16)
    }

    @Test func cgroupV2QuotaBindsBelowTheMask() throws {
        // A container with --cpus 2.5 on a 16-CPU host: the mask says 16, the quota 2.5 → 2.
        let root = try FakeRoot(files: [
            "proc/self/status": FakeRoot.status("0-15"), "proc/self/cgroup": "0::/system.slice/docker-1.scope\n",
            "sys/fs/cgroup/system.slice/docker-1.scope/cpu.max": "250000 100000\n",
            "sys/fs/cgroup/system.slice/cpu.max": "max 100000\n",
        ])
        let budget = root.budget
        #expect(budget.allowed == 16)
        #expect(budget.quota == 2.5)
        #expect(budget.cpus == 2)
        #expect(budget.quotaSource == "/sys/fs/cgroup/system.slice/docker-1.scope/cpu.max")
        #expect(budget.description.contains("2 CPUs"))
    }

    @Test func aParentsQuotaBindsItsChildren() throws {
        let root = try FakeRoot(files: [
            "proc/self/status": FakeRoot.status("0-7"), "proc/self/cgroup": "0::/a/b\n",
            "sys/fs/cgroup/a/b/cpu.max": "600000 100000\n", "sys/fs/cgroup/a/cpu.max": "300000 100000\n",
        ])
        #expect(root.budget.cpus == 3)
    }

    @Test func insideAContainerTheMountIsTheGroup() throws {
        // The kernel reports the host path, which does not exist under the container's mount.
        let root = try FakeRoot(files: [
            "proc/self/status": FakeRoot.status("0-31"), "proc/self/cgroup": "0::/kubepods/pod1/c1\n",
            "sys/fs/cgroup/cpu.max": "400000 100000\n",
        ])
        #expect(root.budget.cpus == 4)
    }

    @Test func cgroupV1Quota() throws {
        let root = try FakeRoot(files: [
            "proc/self/status": FakeRoot.status("0-63"),
            "proc/self/cgroup": "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n",
            "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000\n",
            "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
        ])
        #expect(root.budget.quota == 1.5)
        #expect(root.budget.cpus == 1)
        let unlimited = try FakeRoot(files: [
            "proc/self/status": FakeRoot.status("0-3"), "proc/self/cgroup": "4:cpu,cpuacct:/\n",
            "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        ])
        #expect(unlimited.budget == CPUBudget(allowed: 4))
    }

    @Test func tinyQuotaStillLeavesOneCPU() throws {
        let root = try FakeRoot(files: [
            "proc/self/status": FakeRoot.status("0-3"), "proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "50000 100000\n",
        ])
        #expect(root.budget.cpus == 1)
    }

    @Test func nothingReadableFallsBackToTheProcessorCount() throws {
        let root = try FakeRoot(files: [:])
        #expect(root.budget == CPUBudget(allowed: nil))
        #expect(root.budget.cpus == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func thisMachineHasAtLeastOneCPU() {
        let budget = CPUBudget.current()
        #expect(budget.allowed != nil, "/proc/self/status has Cpus_allowed_list on Linux")
        #expect(budget.cpus >= 1 && budget.cpus <= ProcessInfo.processInfo.processorCount)
    }
}

@Suite struct CPUSplitTests {
    @Test func defaultsNeverOversubscribe() {
        for cpus in 1...64 {
            let split = CPUSplit.fit(cpus: cpus, workers: nil, threads: nil)
            #expect(split.workers * split.threadsPerWorker <= cpus, "\(cpus) CPUs")
            #expect(split.workers * split.threadsPerWorker > cpus - split.workers, "\(cpus) CPUs: at most a few left idle")
            #expect(split.threadsPerWorker <= CPUSplit.defaultMaxThreadsPerWorker)
            #expect(split.warnings.isEmpty && !split.oversubscribed)
        }
        #expect(CPUSplit.fit(cpus: 2, workers: nil, threads: nil).workers == 1)
        #expect(CPUSplit.fit(cpus: 2, workers: nil, threads: nil).threadsPerWorker == 2)
        #expect(CPUSplit.fit(cpus: 8, workers: nil, threads: nil) == CPUSplit.fit(cpus: 8, workers: 1, threads: 8))
        #expect(CPUSplit.fit(cpus: 12, workers: nil, threads: nil).workers == 2)
        #expect(CPUSplit.fit(cpus: 12, workers: nil, threads: nil).threadsPerWorker == 6)
        #expect(CPUSplit.fit(cpus: 32, workers: nil, threads: nil).workers == 4)
    }

    @Test func oversubscribingSettingsAreCappedWithAWarningNamingThem() {
        // The case: the old defaults on a 2-core machine.
        let split = CPUSplit.fit(cpus: 2, workers: 2, threads: 4)
        #expect(split.workers == 2 && split.threadsPerWorker == 1)
        #expect(!split.oversubscribed)
        let warning = split.warnings.joined()
        #expect(warning.contains("COLPALI_WORKERS=2") && warning.contains("CPU_THREADS=4"))
        #expect(warning.contains(CPUSplit.oversubscribeVariable))

        let threadsOnly = CPUSplit.fit(cpus: 2, workers: nil, threads: 4)
        #expect(threadsOnly.workers == 1 && threadsOnly.threadsPerWorker == 2)
        #expect(threadsOnly.warnings.joined().contains("CPU_THREADS=4"))

        let workersOnly = CPUSplit.fit(cpus: 2, workers: 3, threads: nil)
        #expect(workersOnly.workers == 2 && workersOnly.threadsPerWorker == 1)
        #expect(workersOnly.warnings.joined().contains("COLPALI_WORKERS=3"))
    }

    @Test func settingsThatFitAreKept() {
        #expect(
            CPUSplit.fit(cpus: 16, workers: 2, threads: 4) == CPUSplit(workers: 2, threadsPerWorker: 4, warnings: [], oversubscribed: false)
        )
        let workersOnly = CPUSplit.fit(cpus: 16, workers: 4, threads: nil)
        #expect(workersOnly.workers == 4 && workersOnly.threadsPerWorker == 4 && workersOnly.warnings.isEmpty)
        let threadsOnly = CPUSplit.fit(cpus: 16, workers: nil, threads: 4)
        #expect(threadsOnly.workers == 4 && threadsOnly.threadsPerWorker == 4 && threadsOnly.warnings.isEmpty)
    }

    @Test func theOptOutForcesAndWaitsPassively() {
        let split = CPUSplit.fit(cpus: 2, workers: 2, threads: 4, allowOversubscribe: true)
        #expect(split.workers == 2 && split.threadsPerWorker == 4 && split.oversubscribed)
        #expect(split.warnings.joined().contains("forced"))
        #expect(split.passiveWaitEnvironment(given: [:]) == ["OMP_WAIT_POLICY": "PASSIVE"])
        // The user's own libgomp settings win.
        #expect(split.passiveWaitEnvironment(given: ["OMP_WAIT_POLICY": "ACTIVE"]).isEmpty)
        #expect(split.passiveWaitEnvironment(given: ["GOMP_SPINCOUNT": "1000"]).isEmpty)
        // A split that fits changes nothing.
        #expect(CPUSplit.fit(cpus: 2, workers: nil, threads: nil).passiveWaitEnvironment(given: [:]).isEmpty)
    }

    @Test func configurationFitsTheBudgetItIsGiven() throws {
        let two = CPUBudget(allowed: 2)
        let defaults = try ServiceConfiguration.fromEnvironment([:], cpuBudget: two)
        #expect(defaults.workers == 1 && defaults.cpuThreads == 2)
        let capped = try ServiceConfiguration.fromEnvironment(["COLPALI_WORKERS": "2", "CPU_THREADS": "4"], cpuBudget: two)
        #expect(capped.workers == 2 && capped.cpuThreads == 1)
        #expect(capped.cpuSplit.warnings.count == 1)
        let forced = try ServiceConfiguration.fromEnvironment(
            ["COLPALI_WORKERS": "2", "CPU_THREADS": "4", "COLPALI_ALLOW_OVERSUBSCRIBE": "1"], cpuBudget: two)
        #expect(forced.workers == 2 && forced.cpuThreads == 4 && forced.cpuSplit.oversubscribed)
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.fromEnvironment(["COLPALI_ALLOW_OVERSUBSCRIBE": "maybe"], cpuBudget: two)
        }
        let quota = CPUBudget(allowed: 64, quota: 4, quotaSource: "/sys/fs/cgroup/cpu.max")
        let container = try ServiceConfiguration.fromEnvironment([:], cpuBudget: quota)
        #expect(container.workers * container.cpuThreads == 4)
    }
}
