import CoreMetrics
import Foundation
import Glibc
import Testing

@testable import EmbeddingService

/// swift-metrics in a worker → datagrams on the channel → the master's receiver → the
/// registry; a full buffer drops observations and reports how many.
@Suite struct MetricsChannelTests {
    static func waitFor(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }

    @Test func observationsTravelFromTheFactoryToTheRegistry() throws {
        let channel = try MetricsChannel.make()
        defer { close(channel.sendEnd) }
        let metrics = PoolMetrics()
        let receiver = MetricsReceiver(descriptor: channel.receiveEnd, metrics: metrics)
        receiver.start()
        defer { receiver.stop() }
        let worker = ForwardingMetricsFactory(sink: MetricsDatagramSink(descriptor: channel.sendEnd, pid: 321))
        // Dimensions in any order come out in the catalogue's.
        let counter = Counter(label: MetricNames.requests, dimensions: [("status", "200"), ("route", "/info")], factory: worker)
        for _ in 0..<5 { counter.increment() }
        Timer(label: MetricNames.queueDuration, dimensions: [("kind", "images")], factory: worker).recordNanoseconds(2_000_000)
        Recorder(label: MetricNames.batchSize, dimensions: [("kind", "images")], factory: worker).record(3)
        let meter = Meter(label: MetricNames.requestsInFlight, factory: worker)
        meter.increment()
        meter.increment()
        meter.decrement()
        // Unknown to the catalogue: never leaves the worker.
        Counter(label: "somebody_elses_total", factory: worker).increment()
        let arrived = Self.waitFor {
            let text = MetricsText(metrics.render())
            return text.value(#"colmodernvbert_requests_total{route="/info",status="200"}"#) == 5
                && text.value("colmodernvbert_requests_in_flight") == 1
                && text.value(#"colmodernvbert_batch_size_count{kind="images"}"#) == 1
                && text.value(#"colmodernvbert_queue_duration_seconds_count{kind="images"}"#) == 1
        }
        let text = MetricsText(metrics.render())
        #expect(arrived, "\(text.text)")
        #expect(!text.text.contains("somebody_elses"))
        #expect(text.value(#"colmodernvbert_metrics_dropped_total{reason="malformed"}"#) == 0)
    }

    @Test func aFullBufferDropsAndTheCountArrivesLater() throws {
        let channel = try MetricsChannel.make()
        defer { close(channel.sendEnd) }
        let sink = MetricsDatagramSink(descriptor: channel.sendEnd, pid: 77)
        // No receiver yet: the send buffer fills, sends fail at once (never block), drops are counted.
        var sent = 0
        let started = Date()
        while sink.droppedCount == 0, sent < 1_000_000 {
            sink.send(MetricNames.requests, [("route", "/health"), ("status", "200")], .increment(1))
            sent += 1
        }
        #expect(sink.droppedCount == 1)
        #expect(Date().timeIntervalSince(started) < 30)
        for _ in 0..<9 { sink.send(MetricNames.requests, [("route", "/health"), ("status", "200")], .increment(1)) }
        #expect(sink.droppedCount == 10)
        print("metrics channel: \(sent - 1) datagrams fit in the buffer before the first drop")

        let metrics = PoolMetrics()
        let receiver = MetricsReceiver(descriptor: channel.receiveEnd, metrics: metrics)
        receiver.start()
        defer { receiver.stop() }
        let delivered = sent - 1
        #expect(
            Self.waitFor {
                MetricsText(metrics.render()).value(#"colmodernvbert_requests_total{route="/health",status="200"}"#) == Double(delivered)
            })
        // The next send that gets through carries the drop count along.
        sink.send(MetricNames.requests, [("route", "/health"), ("status", "200")], .increment(1))
        let reported = Self.waitFor {
            MetricsText(metrics.render()).value(#"colmodernvbert_metrics_dropped_total{reason="buffer_full"}"#) == 10
        }
        #expect(reported, "\(MetricsText(metrics.render()).text)")
    }

    /// The cost a request pays for forwarding (a query request makes 6 observations: in flight
    /// up and down, the counter, its duration, the queue wait, the forward pass' size and time
    /// make 7), and what the master spends per datagram. Bursts of 100 requests stay under the
    /// buffer, so none is dropped. Printed, not asserted.
    @Test func forwardingCostIsMeasured() throws {
        let channel = try MetricsChannel.make()
        defer { close(channel.sendEnd) }
        let metrics = PoolMetrics()
        let receiver = MetricsReceiver(descriptor: channel.receiveEnd, metrics: metrics)
        receiver.start()
        defer { receiver.stop() }
        let worker = ForwardingMetricsFactory(sink: MetricsDatagramSink(descriptor: channel.sendEnd, pid: 55))
        let inFlight = Meter(label: MetricNames.requestsInFlight, factory: worker)
        let duration = Timer(label: MetricNames.requestDuration, dimensions: [("route", "/embed/queries")], factory: worker)
        let queue = Timer(label: MetricNames.queueDuration, dimensions: [("kind", "queries")], factory: worker)
        let inference = Timer(label: MetricNames.inferenceDuration, dimensions: [("kind", "queries")], factory: worker)
        let batch = Recorder(label: MetricNames.batchSize, dimensions: [("kind", "queries")], factory: worker)
        let bursts = 50
        let perBurst = 100
        var sending: UInt64 = 0
        for burst in 1...bursts {
            let started = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<perBurst {
                inFlight.increment()
                queue.recordNanoseconds(100_000)
                inference.recordNanoseconds(5_000_000)
                batch.record(1)
                inFlight.decrement()
                Counter(label: MetricNames.requests, dimensions: [("route", "/embed/queries"), ("status", "200")], factory: worker)
                    .increment()
                duration.recordNanoseconds(6_000_000)
            }
            sending += DispatchTime.now().uptimeNanoseconds - started
            let expected = Double(burst * perBurst)
            #expect(
                Self.waitFor {
                    MetricsText(metrics.render()).value(#"colmodernvbert_request_duration_seconds_count{route="/embed/queries"}"#)
                        == expected
                })
        }
        let requests = Double(bursts * perBurst)
        let perRequest = Double(sending) / requests / 1000
        print(
            String(
                format: "metrics forwarding: %.1f µs per request (7 observations, %.2f µs each) in the worker", perRequest, perRequest / 7))
        #expect(MetricsText(metrics.render()).value(#"colmodernvbert_metrics_dropped_total{reason="buffer_full"}"#) == 0)

        // The master's side: decode and apply, per datagram.
        let datagram = MetricObservation(
            pid: 55, name: MetricNames.requests, labels: [("route", "/embed/queries"), ("status", "200")], operation: .increment(1)
        ).encoded()!
        let timing = MetricObservation(
            pid: 55, name: MetricNames.requestDuration, labels: [("route", "/embed/queries")], operation: .nanoseconds(6_000_000)
        ).encoded()!
        let applied = 20_000
        let started = DispatchTime.now().uptimeNanoseconds
        for index in 0..<applied { metrics.receive(datagram: index % 2 == 0 ? datagram : timing) }
        let perDatagram = Double(DispatchTime.now().uptimeNanoseconds - started) / Double(applied) / 1000
        print(String(format: "metrics receiver: %.1f µs per datagram decoded and applied in the master", perDatagram))
    }

    @Test func theReceiverStopsPromptly() throws {
        let channel = try MetricsChannel.make()
        defer { close(channel.sendEnd) }
        let receiver = MetricsReceiver(descriptor: channel.receiveEnd, metrics: PoolMetrics())
        receiver.start()
        usleep(20_000)
        let started = Date()
        receiver.stop()
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func anInheritedDescriptorIsFoundOnlyWhenOpen() throws {
        let channel = try MetricsChannel.make()
        defer {
            close(channel.sendEnd)
            close(channel.receiveEnd)
        }
        #expect(MetricsChannel.inheritedSendEnd(environment: [:]) == nil)
        #expect(MetricsChannel.inheritedSendEnd(environment: ["COLPALI_METRICS_FD": "x"]) == nil)
        #expect(MetricsChannel.inheritedSendEnd(environment: ["COLPALI_METRICS_FD": "987"]) == nil)
        #expect(MetricsChannel.inheritedSendEnd(environment: ["COLPALI_METRICS_FD": String(channel.sendEnd)]) == channel.sendEnd)
    }
}
