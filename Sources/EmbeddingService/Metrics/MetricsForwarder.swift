import CoreMetrics
import Glibc
import Synchronization

/// The worker's end of the metrics channel: each observation becomes one datagram on the
/// inherited socket, sent without blocking. Workers keep no totals, so a worker's death or
/// restart loses nothing already observed; the master (`PoolMetrics`) owns the numbers.
///
/// A full socket buffer (the master's receiver behind) drops the observation and counts it;
/// the count reaches the master as `colmodernvbert_metrics_dropped_total{reason="buffer_full"}`
/// with the next datagram that gets through.
public final class MetricsDatagramSink: Sendable {
    private let descriptor: Int32
    let pid: Int32
    private let unreported = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    /// `descriptor`: the send end of the master's datagram socket pair.
    public init(descriptor: Int32, pid: Int32 = getpid()) {
        self.descriptor = descriptor
        self.pid = pid
    }

    /// Observations dropped by this process so far.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    public func send(_ name: String, _ labels: [(String, String)], _ operation: MetricObservation.Operation) {
        guard let datagram = MetricObservation(pid: pid, name: name, labels: labels, operation: operation).encoded() else {
            countDrop()
            return
        }
        send(datagram)
    }

    /// A datagram already encoded (`ForwardingHandler` keeps its series' bytes).
    func send(_ datagram: [UInt8]) {
        guard transmit(datagram) else {
            countDrop()
            return
        }
        let pending = unreported.exchange(0, ordering: .relaxed)
        guard pending > 0 else { return }
        let report = MetricObservation(
            pid: pid, name: MetricNames.metricsDropped, labels: [("reason", "buffer_full")], operation: .increment(Int64(pending)))
        if let bytes = report.encoded(), transmit(bytes) { return }
        unreported.add(pending, ordering: .relaxed)
    }

    /// An observation that could not be sent (full buffer, or a label value the decoder would refuse).
    func countDrop() {
        dropped.add(1, ordering: .relaxed)
        unreported.add(1, ordering: .relaxed)
    }

    private func transmit(_ datagram: [UInt8]) -> Bool {
        datagram.withUnsafeBytes { bytes in
            Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) == bytes.count
        }
    }
}

/// swift-metrics' factory in a worker (bootstrapped once, in `Worker.run`): every handler
/// forwards to the sink. Dimensions are put in the catalogue's label order; a metric the
/// catalogue does not know gets a no-op handler (nothing unknown leaves the worker).
public struct ForwardingMetricsFactory: MetricsFactory {
    public let sink: MetricsDatagramSink

    public init(sink: MetricsDatagramSink) { self.sink = sink }

    func handler(_ label: String, _ dimensions: [(String, String)]) -> ForwardingHandler? {
        guard let definition = MetricDefinition.all[label] else { return nil }
        let labels = definition.labels.map { key in (key, dimensions.first { $0.0 == key }?.1 ?? "") }
        return ForwardingHandler(sink: sink, name: label, labels: labels)
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        handler(label, dimensions) ?? NOOPMetricsHandler.instance
    }
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        handler(label, dimensions) ?? NOOPMetricsHandler.instance
    }
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        handler(label, dimensions) ?? NOOPMetricsHandler.instance
    }
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        handler(label, dimensions) ?? NOOPMetricsHandler.instance
    }
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        handler(label, dimensions) ?? NOOPMetricsHandler.instance
    }
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}

/// One metric and label set of a worker; every call is one datagram. The operation follows
/// the catalogue's kind (a gauge's `record` is a `set`, a histogram's an `observe`).
///
/// The datagram's fixed parts are encoded once, when the handler is made (measured in the
/// debug build: joining the six fields per call cost more than the send itself).
final class ForwardingHandler: CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler, TimerHandler, Sendable {
    let sink: MetricsDatagramSink
    let name: String
    let labels: [(String, String)]
    private let isGauge: Bool
    /// `cmv1\tPID\t` and `\tNAME\tLABELS\t`, or nil when a label value cannot be sent.
    private let head: [UInt8]
    private let tail: [UInt8]?

    init(sink: MetricsDatagramSink, name: String, labels: [(String, String)]) {
        self.sink = sink
        self.name = name
        self.labels = labels
        isGauge = MetricDefinition.all[name]?.kind == .gauge
        head = Array("\(MetricObservation.magic)\t\(sink.pid)\t".utf8)
        let valid = labels.allSatisfy { MetricObservation.isValidLabelValue($0.1) }
        tail = valid ? Array("\t\(name)\t\(labels.map { "\($0.0)=\($0.1)" }.joined(separator: ","))\t".utf8) : nil
    }

    private func send(_ operation: StaticString, _ value: String) {
        guard let tail else {
            sink.countDrop()
            return
        }
        var datagram = head
        datagram.reserveCapacity(head.count + 3 + tail.count + 24)
        operation.withUTF8Buffer { datagram.append(contentsOf: $0) }
        datagram.append(contentsOf: tail)
        datagram.append(contentsOf: value.utf8)
        sink.send(datagram)
    }

    func increment(by amount: Int64) { send("inc", String(amount)) }
    func increment(by amount: Double) {
        if isGauge { send("add", amount.description) } else { send("inc", String(Int64(amount.rounded()))) }
    }
    func decrement(by amount: Double) { send("add", (-amount).description) }
    func set(_ value: Int64) { send("set", Double(value).description) }
    func set(_ value: Double) { send("set", value.description) }
    func record(_ value: Int64) { record(Double(value)) }
    func record(_ value: Double) { send(isGauge ? "set" : "obs", value.description) }
    func recordNanoseconds(_ duration: Int64) { send("ns", String(duration)) }
    func preferDisplayUnit(_ unit: TimeUnit) {}
    func reset() {}
}
