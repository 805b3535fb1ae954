import CoreMetrics
import Prometheus

/// swift-metrics' factory over the master's `PrometheusCollectorRegistry`, with the help
/// text and buckets of `MetricDefinition.all` (swift-prometheus' own factory writes no
/// `# HELP`, which `promtool check metrics` reports). Handed to the metric types explicitly
/// (`CoreMetrics.Counter(label:dimensions:factory:)`), so the master needs no global bootstrap.
public struct RegistryMetricsFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricDefinition.all[label]?.help ?? label)
    }

    private func buckets(_ label: String) -> [Double] {
        MetricDefinition.all[label]?.buckets ?? MetricDefinition.secondsBuckets
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets(label))
    }
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let bounds = buckets(label).map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: bounds)
    }
    // The pool's series live as long as the master: nothing is unregistered.
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}
