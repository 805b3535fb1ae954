import Foundation
import Testing

@testable import EmbeddingService

/// The workers' observations as datagrams: what the encoder writes the decoder reads back,
/// and whatever does not match the catalogue is refused with a reason.
@Suite struct MetricsDatagramTests {
    @Test func everyOperationRoundTrips() throws {
        let observations = [
            MetricObservation(
                pid: 42, name: MetricNames.requests, labels: [("route", "/embed/images"), ("status", "200")], operation: .increment(3)),
            MetricObservation(pid: 42, name: MetricNames.requestsInFlight, labels: [], operation: .add(-1)),
            MetricObservation(pid: 7, name: MetricNames.workersReady, labels: [], operation: .set(2.5)),
            MetricObservation(pid: 7, name: MetricNames.batchSize, labels: [("kind", "queries")], operation: .observe(16)),
            MetricObservation(
                pid: 9, name: MetricNames.requestDuration, labels: [("route", "other")], operation: .nanoseconds(1_234_567_891)),
        ]
        for observation in observations {
            let bytes = try #require(observation.encoded())
            #expect(bytes.count < 120)
            #expect(try MetricObservation.decode(bytes) == observation)
        }
    }

    @Test func theTextIsOneTabSeparatedLine() throws {
        let bytes = try #require(
            MetricObservation(
                pid: 5, name: MetricNames.requests, labels: [("route", "/health"), ("status", "503")], operation: .increment(1)
            )
            .encoded())
        #expect(String(decoding: bytes, as: UTF8.self) == "cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=/health,status=503\t1")
    }

    @Test func aLabelValueOutsideTheSafeCharactersIsNotSent() {
        for value in ["a,b", "a=b", "tab\there", "", String(repeating: "x", count: 65), "é"] {
            let observation = MetricObservation(
                pid: 1, name: MetricNames.requests, labels: [("route", value), ("status", "200")], operation: .increment(1))
            #expect(observation.encoded() == nil, "\(value)")
        }
    }

    @Test(arguments: [
        "",
        "cmv2\t5\tinc\tcolmodernvbert_requests_total\troute=/health,status=200\t1",
        "cmv1\t-5\tinc\tcolmodernvbert_requests_total\troute=/health,status=200\t1",
        "cmv1\t5\tinc\tcolmodernvbert_unknown_total\t\t1",
        "cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=/health\t1",
        "cmv1\t5\tinc\tcolmodernvbert_requests_total\tstatus=200,route=/health\t1",
        "cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=/health,status=200,extra=1\t1",
        "cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=/health,status=200\t-1",
        "cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=/health,status=200\t1.5",
        "cmv1\t5\tset\tcolmodernvbert_requests_total\troute=/health,status=200\t1",
        "cmv1\t5\tobs\tcolmodernvbert_workers_ready\t\t1",
        "cmv1\t5\tadd\tcolmodernvbert_requests_in_flight\t\tnan",
        "cmv1\t5\tadd\tcolmodernvbert_requests_in_flight\t\tinf",
        "cmv1\t5\tns\tcolmodernvbert_queue_duration_seconds\tkind=queries\t-3",
        "cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=/health,status=200\t1\textra",
        "cmv1\t5\tinc\tcolmodernvbert_requests_total\troute=a b,status=200\t1",
    ])
    func malformedDatagramsAreRefused(_ text: String) {
        #expect(throws: MalformedDatagram.self) { try MetricObservation.decode(Array(text.utf8)) }
    }

    @Test func oversizedAndNonUTF8DatagramsAreRefused() {
        #expect(throws: MalformedDatagram.self) { try MetricObservation.decode([UInt8](repeating: 0x41, count: 513)) }
        #expect(throws: MalformedDatagram.self) { try MetricObservation.decode([0x63, 0x6D, 0xFF, 0xFE]) }
    }

    /// Every name is a literal in MetricNames.swift (the Kubernetes test reads them from there).
    @Test func theCatalogueNamesEveryMetricOfTheIssue() {
        let required = [
            "colmodernvbert_requests_total", "colmodernvbert_request_duration_seconds", "colmodernvbert_queue_duration_seconds",
            "colmodernvbert_inference_duration_seconds", "colmodernvbert_batch_size", "colmodernvbert_image_tiles",
            "colmodernvbert_workers_ready", "colmodernvbert_worker_restarts_total", "colmodernvbert_download_bytes_total",
            "colmodernvbert_requests_in_flight", "colmodernvbert_metrics_dropped_total",
        ]
        #expect(Set(MetricDefinition.all.keys) == Set(required))
        for definition in MetricDefinition.all.values {
            #expect(definition.kind == .histogram ? !definition.buckets.isEmpty : definition.buckets.isEmpty, "\(definition.name)")
            #expect(definition.buckets == definition.buckets.sorted(), "\(definition.name)")
            #expect(definition.name.hasSuffix("_total") == (definition.kind == .counter), "\(definition.name)")
        }
    }
}
