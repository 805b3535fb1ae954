import CoreMetrics
import POSIX
import Prometheus
import WorkerPool

/// The pool's numbers, owned by the master: the workers' forwarded observations and the
/// master's own (supervisor events, download progress), in one registry that `/metrics`
/// renders. Counters only grow while the master lives, whatever happens to the workers; a
/// master restart starts them from zero, which Prometheus treats as a counter reset.
///
/// Gauges that workers report (requests in flight) are kept per worker pid and exposed as
/// their sum; a worker's share leaves with it when it exits (a SIGKILLed worker never sends
/// its decrements), and late datagrams from an exited pid do not bring it back.
public final class PoolMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: RegistryMetricsFactory
    private let state = Locked(GaugeShares())
    /// The handlers by series (name and labels): the registry's get-or-create is a lookup
    /// under its lock, with label hashing, on every datagram otherwise.
    private let handlers = Locked<[String: Handler]>([:])

    private enum Handler: @unchecked Sendable {
        case counter(CoreMetrics.Counter)
        case recorder(CoreMetrics.Recorder)
        case timer(CoreMetrics.Timer)
        case meter(CoreMetrics.Meter)
    }

    private struct GaugeShares {
        var shares: [String: [Int32: Double]] = [:]
        var exited: [Int32] = []
        var ready: Set<Int32> = []
    }

    /// How many exited pids are remembered to refuse their late gauge datagrams.
    static let exitedMemory = 256

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        factory = RegistryMetricsFactory(registry: registry)
        // Series with no labels exist from the start (0), so a scrape before any traffic
        // already shows them.
        CoreMetrics.Meter(label: MetricNames.workersReady, factory: factory).set(0)
        CoreMetrics.Meter(label: MetricNames.requestsInFlight, factory: factory).set(0)
        CoreMetrics.Counter(label: MetricNames.workerRestarts, factory: factory).increment(by: 0)
        CoreMetrics.Counter(label: MetricNames.downloadBytes, factory: factory).increment(by: 0)
        for reason in ["buffer_full", "malformed"] {
            CoreMetrics.Counter(label: MetricNames.metricsDropped, dimensions: [("reason", reason)], factory: factory).increment(by: 0)
        }
    }

    /// Decodes and applies one datagram; a malformed one is counted and otherwise ignored.
    /// Returns the refusal, for tests and logs.
    @discardableResult
    public func receive(datagram: some Collection<UInt8>) -> MalformedDatagram? {
        do {
            apply(try MetricObservation.decode(datagram))
            return nil
        } catch {
            CoreMetrics.Counter(label: MetricNames.metricsDropped, dimensions: [("reason", "malformed")], factory: factory).increment()
            return error
        }
    }

    public func apply(_ observation: MetricObservation) {
        let name = observation.name
        let labels = observation.labels
        let key = ([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: ",")
        switch observation.operation {
        case .increment(let amount):
            guard case .counter(let counter) = handler(key, { .counter(.init(label: name, dimensions: labels, factory: factory)) })
            else { return }
            counter.increment(by: amount)
        case .observe(let value):
            guard case .recorder(let recorder) = handler(key, { .recorder(.init(label: name, dimensions: labels, factory: factory)) })
            else { return }
            recorder.record(value)
        case .nanoseconds(let value):
            guard case .timer(let timer) = handler(key, { .timer(.init(label: name, dimensions: labels, factory: factory)) }) else {
                return
            }
            timer.recordNanoseconds(value)
        case .add, .set:
            let total: Double? = state.withLock { state in
                guard !state.exited.contains(observation.pid) else { return nil }
                var shares = state.shares[key] ?? [:]
                switch observation.operation {
                case .add(let delta): shares[observation.pid, default: 0] += delta
                case .set(let value): shares[observation.pid] = value
                default: break
                }
                state.shares[key] = shares
                return shares.values.reduce(0, +)
            }
            guard let total, case .meter(let meter) = handler(key, { .meter(.init(label: name, dimensions: labels, factory: factory)) })
            else { return }
            meter.set(total)
        }
    }

    /// The series' handler, made once. (A name has one kind: the decoder checks the operation
    /// against the catalogue.)
    private func handler(_ key: String, _ make: () -> Handler) -> Handler {
        handlers.withLock { handlers in
            if let existing = handlers[key] { return existing }
            let made = make()
            handlers[key] = made
            return made
        }
    }

    /// A worker exited: its gauge shares go (their sums are set again), and its readiness.
    public func workerExited(pid: Int32) {
        let totals: [(String, Double)] = state.withLock { state in
            state.exited.append(pid)
            if state.exited.count > Self.exitedMemory { state.exited.removeFirst(state.exited.count - Self.exitedMemory) }
            var totals: [(String, Double)] = []
            for (key, var shares) in state.shares where shares[pid] != nil {
                shares[pid] = nil
                state.shares[key] = shares
                totals.append((key, shares.values.reduce(0, +)))
            }
            return totals
        }
        for (key, total) in totals {
            let parts = key.split(separator: ",").map(String.init)
            let labels = parts.dropFirst().map { part in
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                return (pair[0], pair.count > 1 ? pair[1] : "")
            }
            CoreMetrics.Meter(label: parts[0], dimensions: labels, factory: factory).set(total)
        }
    }

    /// The master's own numbers from the supervisor: ready workers, restarts, exits.
    public func observe(_ event: SupervisorEvent) {
        switch event {
        case .ready(_, let pid): setReady { $0.insert(pid) }
        case .terminating(_, let pid): setReady { $0.remove(pid) }
        case .exited(_, let pid, _, _):
            setReady { $0.remove(pid) }
            workerExited(pid: pid)
        case .restartScheduled: CoreMetrics.Counter(label: MetricNames.workerRestarts, factory: factory).increment()
        default: break
        }
    }

    private func setReady(_ change: (inout Set<Int32>) -> Void) {
        let count = state.withLock { state in
            change(&state.ready)
            return state.ready.count
        }
        CoreMetrics.Meter(label: MetricNames.workersReady, factory: factory).set(count)
    }

    /// Bytes the master's hub client fetched (deltas of its progress' `completedBytes`).
    public func downloaded(bytes: Int64) {
        guard bytes > 0 else { return }
        CoreMetrics.Counter(label: MetricNames.downloadBytes, factory: factory).increment(by: bytes)
    }

    /// The registry in Prometheus' text exposition format (0.0.4).
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
