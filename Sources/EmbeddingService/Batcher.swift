import Foundation

/// Runs the inputs of concurrent requests through one `process` call where possible.
///
/// Leader/follower: a caller enqueues its job and, if no batch is running, becomes the
/// leader: it takes every pending job (oldest first, up to `maxBatch` inputs, but always at
/// least one whole job), runs `process` once, hands each job its slice of the outputs and
/// steps down; a waiting caller then leads the next batch. Requests that arrive while a
/// forward pass runs are thus combined into the next one, with no dedicated thread.
///
/// `serial` is shared between batchers that use the same model so that only one forward
/// pass runs at a time (they would only compete for the same cores).
public final class Batcher<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    private final class Job {
        let inputs: [Input]
        var result: Result<[Output], Error>?
        init(_ inputs: [Input]) { self.inputs = inputs }
    }

    private let maxBatch: Int
    private let process: ([Input]) throws -> [Output]
    private let serial: NSLock
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var leading = false

    /// Number of `process` calls so far (for tests and logs).
    public var batchesRun: Int { condition.withLock { completed } }
    /// Jobs waiting for a forward pass (for tests and logs).
    public var pendingJobs: Int { condition.withLock { pending.count } }
    private var completed = 0

    public init(maxBatch: Int, serial: NSLock = NSLock(), process: @escaping ([Input]) throws -> [Output]) {
        self.maxBatch = max(1, maxBatch)
        self.serial = serial
        self.process = process
    }

    /// Blocks until the inputs have been processed; returns outputs in input order.
    public func run(_ inputs: [Input]) throws -> [Output] {
        if inputs.isEmpty { return [] }
        let job = Job(inputs)
        condition.lock()
        pending.append(job)
        while job.result == nil {
            if leading {
                condition.wait()
                continue
            }
            leading = true
            let batch = takeBatch()
            condition.unlock()
            let outcome = runBatch(batch)
            condition.lock()
            deliver(outcome, to: batch)
            completed += 1
            leading = false
            condition.broadcast()
        }
        condition.unlock()
        return try job.result!.get()
    }

    /// Oldest jobs first while they fit in `maxBatch` inputs; the first job always fits.
    private func takeBatch() -> [Job] {
        var batch: [Job] = []
        var count = 0
        while let next = pending.first, batch.isEmpty || count + next.inputs.count <= maxBatch {
            batch.append(pending.removeFirst())
            count += next.inputs.count
        }
        return batch
    }

    private func runBatch(_ batch: [Job]) -> Result<[Output], Error> {
        serial.lock()
        defer { serial.unlock() }
        let inputs = batch.flatMap(\.inputs)
        return Result {
            let outputs = try process(inputs)
            guard outputs.count == inputs.count else {
                throw BatcherError.outputCountMismatch(inputs: inputs.count, outputs: outputs.count)
            }
            return outputs
        }
    }

    private func deliver(_ outcome: Result<[Output], Error>, to batch: [Job]) {
        switch outcome {
        case .success(let outputs):
            var offset = 0
            for job in batch {
                job.result = .success(Array(outputs[offset..<offset + job.inputs.count]))
                offset += job.inputs.count
            }
        case .failure(let error):
            for job in batch { job.result = .failure(error) }
        }
    }
}

public enum BatcherError: Error, CustomStringConvertible {
    case outputCountMismatch(inputs: Int, outputs: Int)

    public var description: String {
        switch self {
        case .outputCountMismatch(let inputs, let outputs):
            "internal error: batch of \(inputs) inputs produced \(outputs) outputs"
        }
    }
}
