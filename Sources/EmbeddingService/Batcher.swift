import CoreMetrics
import Foundation
import POSIX

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
///
/// A caller whose request was abandoned (`isCancelled`) is dropped from the queue: by the
/// leader before it takes a batch, or by the caller itself, which rechecks every
/// `cancellationPoll` while it waits; it gets `BatcherError.abandoned` at once. A running batch
/// is told to stop (the `process` closure's `stop`) only once every job in it is abandoned.
public final class Batcher<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    private final class Job {
        let inputs: [Input]
        let isCancelled: () -> Bool
        let enqueued = DispatchTime.now().uptimeNanoseconds
        var result: Result<[Output], Error>?
        init(_ inputs: [Input], isCancelled: @escaping () -> Bool) {
            self.inputs = inputs
            self.isCancelled = isCancelled
        }
    }

    /// How often a waiting caller rechecks its cancellation: a dropped request frees its
    /// thread within this, not after the forward pass it waits behind (issue 12 measured 255 s
    /// for 8 pages on the full-size checkpoint with one worker).
    static var cancellationPoll: TimeInterval { 0.05 }

    private let maxBatch: Int
    private let process: ([Input], _ stop: () -> Bool) throws -> [Output]
    private let serial: Locked<Void>
    /// Each job's wait from `run` to the start of its forward pass (issue 13's queue metric).
    private let queueWait: CoreMetrics.Timer?
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var leading = false

    /// Number of `process` calls so far (for tests and logs).
    public var batchesRun: Int { condition.withLock { completed } }
    /// Jobs waiting for a forward pass (for tests and logs).
    public var pendingJobs: Int { condition.withLock { pending.count } }
    private var completed = 0

    public convenience init(
        maxBatch: Int, serial: Locked<Void> = Locked(()), queueWait: CoreMetrics.Timer? = nil,
        process: @escaping ([Input]) throws -> [Output]
    ) {
        self.init(maxBatch: maxBatch, serial: serial, queueWait: queueWait) { inputs, _ in try process(inputs) }
    }

    /// `process` may poll `stop` between items and give up (throwing any error) when it says so:
    /// then every caller of that batch has been abandoned.
    public init(
        maxBatch: Int, serial: Locked<Void> = Locked(()), queueWait: CoreMetrics.Timer? = nil,
        process: @escaping ([Input], _ stop: () -> Bool) throws -> [Output]
    ) {
        self.maxBatch = max(1, maxBatch)
        self.serial = serial
        self.queueWait = queueWait
        self.process = process
    }

    /// Blocks until the inputs have been processed; returns outputs in input order. Throws
    /// `BatcherError.abandoned` when `isCancelled` said so before the inputs' forward pass.
    public func run(_ inputs: [Input], isCancelled: @escaping () -> Bool = { false }) throws -> [Output] {
        if inputs.isEmpty { return [] }
        let job = Job(inputs, isCancelled: isCancelled)
        condition.lock()
        pending.append(job)
        while job.result == nil {
            if leading {
                _ = condition.wait(until: Date().addingTimeInterval(Self.cancellationPoll))
                if job.result == nil, job.isCancelled(), let index = pending.firstIndex(where: { $0 === job }) {
                    pending.remove(at: index)
                    job.result = .failure(BatcherError.abandoned(inputs: job.inputs.count))
                }
                continue
            }
            let batch = takeBatch()
            guard !batch.isEmpty else {  // every pending job was abandoned, this one too
                condition.broadcast()
                continue
            }
            leading = true
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
    /// Abandoned jobs are failed and left out.
    private func takeBatch() -> [Job] {
        var batch: [Job] = []
        var count = 0
        while let next = pending.first, batch.isEmpty || count + next.inputs.count <= maxBatch {
            pending.removeFirst()
            if next.isCancelled() {
                next.result = .failure(BatcherError.abandoned(inputs: next.inputs.count))
                continue
            }
            batch.append(next)
            count += next.inputs.count
        }
        return batch
    }

    private func runBatch(_ batch: [Job]) -> Result<[Output], Error> {
        serial.withLock { _ in
            if let queueWait {
                let now = DispatchTime.now().uptimeNanoseconds
                for job in batch { queueWait.recordNanoseconds(Int64(now - job.enqueued)) }
            }
            let inputs = batch.flatMap(\.inputs)
            return Result {
                let outputs = try process(inputs) { batch.allSatisfy { $0.isCancelled() } }
                guard outputs.count == inputs.count else {
                    throw BatcherError.outputCountMismatch(inputs: inputs.count, outputs: outputs.count)
                }
                return outputs
            }
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

public enum BatcherError: Error, Equatable, CustomStringConvertible {
    case outputCountMismatch(inputs: Int, outputs: Int)
    /// The caller was abandoned while its inputs waited for a forward pass; they were dropped.
    case abandoned(inputs: Int)

    public var description: String {
        switch self {
        case .outputCountMismatch(let inputs, let outputs):
            "internal error: batch of \(inputs) inputs produced \(outputs) outputs"
        case .abandoned(let inputs):
            "\(inputs) inputs dropped from the queue before their forward pass"
        }
    }
}
