import CoreMetrics
import Foundation

/// A worker's forward-pass metrics, one set per kind of input (`queries`, `images`): the
/// batcher's queue wait, each forward pass' duration and size; and tiles per image. Through
/// swift-metrics' bootstrapped factory (the worker's forwarder; no-ops without a master).
struct ForwardPassMetrics: Sendable {
    let queueWait: CoreMetrics.Timer
    let inference: CoreMetrics.Timer
    let batchSize: CoreMetrics.Recorder

    init(kind: String) {
        queueWait = CoreMetrics.Timer(label: MetricNames.queueDuration, dimensions: [("kind", kind)])
        inference = CoreMetrics.Timer(label: MetricNames.inferenceDuration, dimensions: [("kind", kind)])
        batchSize = CoreMetrics.Recorder(label: MetricNames.batchSize, dimensions: [("kind", kind)])
    }

    /// Runs one forward pass of `items` inputs, timing it.
    func pass<T>(items: Int, _ body: () throws -> T) rethrows -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            inference.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            batchSize.record(items)
        }
        return try body()
    }
}

/// The engine's metrics, made when the engine is (after the worker bootstrapped the factory).
struct EngineMetrics: Sendable {
    let queries = ForwardPassMetrics(kind: "queries")
    let images = ForwardPassMetrics(kind: "images")
    let imageTiles = CoreMetrics.Recorder(label: MetricNames.imageTiles)
}
