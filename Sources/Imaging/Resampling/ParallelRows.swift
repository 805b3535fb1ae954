import Dispatch

/// Splits `0..<count` into contiguous chunks and runs `body` on them concurrently.
/// Work below `minimumPerChunk` items stays on the calling thread (thread start-up
/// would cost more than it saves on small images).
enum ParallelRows {
    static func run(count: Int, maxWorkers: Int, minimumPerChunk: Int, _ body: (Range<Int>) -> Void) {
        let workers = min(max(maxWorkers, 1), max(count / max(minimumPerChunk, 1), 1))
        if workers <= 1 {
            body(0..<count)
            return
        }
        let chunk = (count + workers - 1) / workers
        // The callers' closures capture raw buffers and write disjoint rows; they
        // finish before `run` returns, so escaping them for the workers is sound.
        withoutActuallyEscaping(body) { escapable in
            let task = UncheckedTask(body: escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = worker * chunk
                let end = min(start + chunk, count)
                if start < end {
                    task.body(start..<end)
                }
            }
        }
    }
}

private struct UncheckedTask: @unchecked Sendable {
    let body: (Range<Int>) -> Void
}
