/// How many worker processes and libtorch threads per worker run on a CPU budget, so that
/// workers × threads ≤ CPUs unless explicitly forced.
///
/// Oversubscribed compute threads cost far more than their share: with 2 workers × 4 threads on
/// 2 cores a page took 336 s instead of 31 s (issue 14). So explicit settings that oversubscribe
/// are capped, with a warning naming them, unless `COLPALI_ALLOW_OVERSUBSCRIBE=1` forces them;
/// forced, the workers wait passively for work (see `passiveWaitEnvironment`).
public struct CPUSplit: Sendable, Equatable {
    public let workers: Int
    public let threadsPerWorker: Int
    /// What was capped, and why; empty when the settings fit (or nothing was set).
    public let warnings: [String]
    /// More compute threads than CPUs (only when forced).
    public let oversubscribed: Bool

    /// Threads one worker uses by default at most. A page is compute-bound and its products
    /// split well across threads, so threads cut the latency that has to stay under nginx's
    /// timeout (issue 14: a 17-tile page 31 s on 1 worker x 2 threads, 336 s on 2 x 4 on the same
    /// 2 cores); queries arriving together are batched inside one worker, so a second worker
    /// only adds throughput once one is saturated, and costs its activations (~70 MiB idle, the
    /// weights being shared). Larger machines get more workers rather than ever wider teams, as
    /// libtorch's per-operator overhead and memory bandwidth flatten the gain of more threads;
    /// the cap of 8 is a judgement, not measured here (2-core machine).
    public static let defaultMaxThreadsPerWorker = 8

    public static let oversubscribeVariable = "COLPALI_ALLOW_OVERSUBSCRIBE"

    /// The split for `cpus` given what was configured (nil: not set).
    public static func fit(
        cpus: Int, workers requestedWorkers: Int?, threads requestedThreads: Int?, allowOversubscribe: Bool = false,
        budgetDescription: String? = nil
    ) -> CPUSplit {
        let cpus = max(1, cpus)
        let onWhat = budgetDescription ?? "\(cpus) CPU\(cpus == 1 ? "" : "s")"
        switch (requestedWorkers, requestedThreads) {
        case (nil, nil):
            let workers = (cpus + defaultMaxThreadsPerWorker - 1) / defaultMaxThreadsPerWorker
            return CPUSplit(workers: workers, threadsPerWorker: cpus / workers, warnings: [], oversubscribed: false)
        case (let workers?, let threads?):
            if workers * threads <= cpus {
                return CPUSplit(workers: workers, threadsPerWorker: threads, warnings: [], oversubscribed: false)
            }
            let asked = "COLPALI_WORKERS=\(workers) × CPU_THREADS=\(threads) = \(workers * threads) compute threads on \(onWhat)"
            if allowOversubscribe {
                return CPUSplit(
                    workers: workers, threadsPerWorker: threads,
                    warnings: ["\(asked): oversubscribed as forced by \(oversubscribeVariable)=1 (workers wait passively)"],
                    oversubscribed: true)
            }
            let cappedWorkers = min(workers, cpus)
            let cappedThreads = max(1, cpus / cappedWorkers)
            return CPUSplit(
                workers: cappedWorkers, threadsPerWorker: cappedThreads,
                warnings: [
                    "\(asked) would oversubscribe the CPUs: using \(cappedWorkers) worker\(cappedWorkers == 1 ? "" : "s") × \(cappedThreads) thread\(cappedThreads == 1 ? "" : "s") (set \(oversubscribeVariable)=1 to force)"
                ],
                oversubscribed: false)
        case (let workers?, nil):
            if workers > cpus && !allowOversubscribe {
                return CPUSplit(
                    workers: cpus, threadsPerWorker: 1,
                    warnings: [
                        "COLPALI_WORKERS=\(workers) on \(onWhat) would oversubscribe the CPUs: using \(cpus) worker\(cpus == 1 ? "" : "s") × 1 thread (set \(oversubscribeVariable)=1 to force)"
                    ],
                    oversubscribed: false)
            }
            let oversubscribed = workers > cpus
            return CPUSplit(
                workers: workers, threadsPerWorker: max(1, cpus / workers),
                warnings: oversubscribed
                    ? ["COLPALI_WORKERS=\(workers) on \(onWhat): oversubscribed as forced by \(oversubscribeVariable)=1"] : [],
                oversubscribed: oversubscribed)
        case (nil, let threads?):
            if threads > cpus && !allowOversubscribe {
                return CPUSplit(
                    workers: 1, threadsPerWorker: cpus,
                    warnings: [
                        "CPU_THREADS=\(threads) on \(onWhat) would oversubscribe the CPUs: using 1 worker × \(cpus) thread\(cpus == 1 ? "" : "s") (set \(oversubscribeVariable)=1 to force)"
                    ],
                    oversubscribed: false)
            }
            let oversubscribed = threads > cpus
            return CPUSplit(
                workers: max(1, cpus / threads), threadsPerWorker: threads,
                warnings: oversubscribed
                    ? ["CPU_THREADS=\(threads) on \(onWhat): oversubscribed as forced by \(oversubscribeVariable)=1"] : [],
                oversubscribed: oversubscribed)
        }
    }

    /// Variables to add to the workers' environment so that an oversubscribed pool costs in
    /// proportion. libgomp decides per process how long an idle team thread spins before it
    /// sleeps (GOMP_SPINCOUNT 300000, cut to 1000 only when that process alone has more threads
    /// than CPUs), and cannot see the other workers: with 2 workers x 2 threads on 2 cores each
    /// spins through the other's time slices. Measured here (2-core EPYC, full-size checkpoint,
    /// 2 pages of 5 tiles at once on 2 x 2 forced): 58-86 s a page spinning, 23-28 s with
    /// OMP_WAIT_POLICY=PASSIVE (1 x 2, one page at a time: 32 s). Not set when the split fits:
    /// there a 1 x 2 page measured 32 s spinning and 35-37 s passive, queries the same (~85 ms).
    /// libgomp reads these when it is loaded, so they must be in the environment the worker is
    /// exec'd with. Values the user set are kept.
    public func passiveWaitEnvironment(given environment: [String: String]) -> [String: String] {
        guard oversubscribed, environment["OMP_WAIT_POLICY"] == nil, environment["GOMP_SPINCOUNT"] == nil else { return [:] }
        return ["OMP_WAIT_POLICY": "PASSIVE"]
    }
}
