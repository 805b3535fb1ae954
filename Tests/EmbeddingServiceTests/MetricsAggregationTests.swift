import CoreMetrics
import Foundation
import Glibc
import Testing
import WorkerPool

@testable import EmbeddingService

/// The master's totals: the workers' observations sum, survive the workers, and only what
/// the catalogue allows gets in.
@Suite struct MetricsAggregationTests {
    static func requests(pid: Int32, _ count: Int64 = 1, route: String = "/embed/queries", status: String = "200") -> MetricObservation {
        MetricObservation(
            pid: pid, name: MetricNames.requests, labels: [("route", route), ("status", status)], operation: .increment(count))
    }

    static func inFlight(pid: Int32, _ delta: Double) -> MetricObservation {
        MetricObservation(pid: pid, name: MetricNames.requestsInFlight, labels: [], operation: .add(delta))
    }

    @Test func twoWorkersObservationsSum() {
        let metrics = PoolMetrics()
        metrics.apply(Self.requests(pid: 10, 3))
        metrics.apply(Self.requests(pid: 11, 4))
        metrics.apply(Self.requests(pid: 11, 1, status: "422"))
        let text = MetricsText(metrics.render())
        #expect(text.value(#"colmodernvbert_requests_total{route="/embed/queries",status="200"}"#) == 7)
        #expect(text.value(#"colmodernvbert_requests_total{route="/embed/queries",status="422"}"#) == 1)
    }

    @Test func aRestartedWorkersCountsAreKept() {
        let metrics = PoolMetrics()
        metrics.apply(Self.requests(pid: 10, 5))
        metrics.observe(.exited(slot: 0, pid: 10, status: .signaled(signal: SIGKILL, coreDumped: false), wasReady: true))
        metrics.observe(.restartScheduled(slot: 0, delay: .milliseconds(100), consecutiveDeaths: 1))
        metrics.apply(Self.requests(pid: 12, 2))
        let text = MetricsText(metrics.render())
        #expect(text.value(#"colmodernvbert_requests_total{route="/embed/queries",status="200"}"#) == 7)
        #expect(text.value("colmodernvbert_worker_restarts_total") == 1)
    }

    @Test func inFlightIsTheLiveWorkersSumAndLeavesWithADeadWorker() {
        let metrics = PoolMetrics()
        metrics.apply(Self.inFlight(pid: 10, 1))
        metrics.apply(Self.inFlight(pid: 10, 1))
        metrics.apply(Self.inFlight(pid: 11, 1))
        #expect(MetricsText(metrics.render()).value("colmodernvbert_requests_in_flight") == 3)
        // SIGKILLed with two requests in flight: their decrements never come.
        metrics.observe(.exited(slot: 0, pid: 10, status: .signaled(signal: SIGKILL, coreDumped: false), wasReady: true))
        #expect(MetricsText(metrics.render()).value("colmodernvbert_requests_in_flight") == 1)
        // A datagram the dead worker sent before dying, read after its exit, changes nothing.
        metrics.apply(Self.inFlight(pid: 10, -1))
        metrics.apply(Self.inFlight(pid: 11, -1))
        #expect(MetricsText(metrics.render()).value("colmodernvbert_requests_in_flight") == 0)
    }

    @Test func readyWorkersFollowTheSupervisor() {
        let metrics = PoolMetrics()
        #expect(MetricsText(metrics.render()).value("colmodernvbert_workers_ready") == 0)
        metrics.observe(.spawned(slot: 0, pid: 10, generation: 0))
        metrics.observe(.ready(slot: 0, pid: 10))
        metrics.observe(.ready(slot: 1, pid: 11))
        #expect(MetricsText(metrics.render()).value("colmodernvbert_workers_ready") == 2)
        metrics.observe(.terminating(slot: 0, pid: 10))
        #expect(MetricsText(metrics.render()).value("colmodernvbert_workers_ready") == 1)
        metrics.observe(.exited(slot: 1, pid: 11, status: .exited(code: 1), wasReady: true))
        #expect(MetricsText(metrics.render()).value("colmodernvbert_workers_ready") == 0)
    }

    @Test func malformedDatagramsAreIgnoredAndCounted() {
        let metrics = PoolMetrics()
        #expect(metrics.receive(datagram: Array("garbage".utf8)) != nil)
        #expect(metrics.receive(datagram: Array("cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=x\t1".utf8)) != nil)
        #expect(metrics.receive(datagram: Self.requests(pid: 5).encoded()!) == nil)
        let text = MetricsText(metrics.render())
        #expect(text.value(#"colmodernvbert_metrics_dropped_total{reason="malformed"}"#) == 2)
        #expect(text.value(#"colmodernvbert_requests_total{route="/embed/queries",status="200"}"#) == 1)
        #expect(!text.text.contains("route=\"x\""))
    }

    @Test func histogramsCarryHelpAndTheCatalogueBuckets() {
        let metrics = PoolMetrics()
        metrics.apply(
            MetricObservation(
                pid: 5, name: MetricNames.requestDuration, labels: [("route", "/health")], operation: .nanoseconds(30_000_000)))
        metrics.apply(MetricObservation(pid: 5, name: MetricNames.imageTiles, labels: [], operation: .observe(13)))
        let text = MetricsText(metrics.render())
        #expect(text.text.contains("# TYPE colmodernvbert_request_duration_seconds histogram"))
        #expect(text.text.contains("# HELP colmodernvbert_request_duration_seconds "))
        #expect(text.value(#"colmodernvbert_request_duration_seconds_bucket{route="/health",le="0.025"}"#) == 0)
        #expect(text.value(#"colmodernvbert_request_duration_seconds_bucket{route="/health",le="0.05"}"#) == 1)
        #expect(text.value(#"colmodernvbert_request_duration_seconds_count{route="/health"}"#) == 1)
        #expect(text.value(#"colmodernvbert_image_tiles_bucket{le="13.0"}"#) == 1)
        #expect(text.value(#"colmodernvbert_image_tiles_bucket{le="9.0"}"#) == 0)
    }

    @Test func downloadedBytesAddUp() {
        let metrics = PoolMetrics()
        metrics.downloaded(bytes: 1000)
        metrics.downloaded(bytes: 0)
        metrics.downloaded(bytes: 24)
        #expect(MetricsText(metrics.render()).value("colmodernvbert_download_bytes_total") == 1024)
    }
}

/// Reads sample values out of the exposition text.
struct MetricsText {
    let text: String
    init(_ bytes: [UInt8]) { text = String(decoding: bytes, as: UTF8.self) }

    /// The value of the sample line that starts with `series` followed by a space.
    func value(_ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
