/// One observation a worker forwards to the master, and its datagram form.
///
/// A datagram is one line of text, tab-separated: `cmv1 PID OP NAME LABELS VALUE`, with
/// LABELS as `key=value,key=value` (empty when none). Text, not a binary layout: ~80 bytes a
/// datagram, readable with `strace`, and the decoder checks every field against
/// `MetricDefinition.all`, so a bad or foreign datagram is refused (and counted), never exposed.
public struct MetricObservation: Sendable, Equatable {
    public enum Operation: Sendable, Equatable {
        /// A counter's increment (swift-metrics `Counter`).
        case increment(Int64)
        /// A gauge's change (`Meter.increment`/`decrement`): the master sums each worker's share.
        case add(Double)
        /// A gauge's value (`Gauge.record`, `Meter.set`): this worker's share.
        case set(Double)
        /// A histogram sample (`Recorder` with aggregation).
        case observe(Double)
        /// A duration histogram sample (`Timer`), in nanoseconds.
        case nanoseconds(Int64)
    }

    public let pid: Int32
    public let name: String
    /// In the catalogue's label order.
    public let labels: [(String, String)]
    public let operation: Operation

    public init(pid: Int32, name: String, labels: [(String, String)], operation: Operation) {
        self.pid = pid
        self.name = name
        self.labels = labels
        self.operation = operation
    }

    public static func == (lhs: MetricObservation, rhs: MetricObservation) -> Bool {
        lhs.pid == rhs.pid && lhs.name == rhs.name && lhs.operation == rhs.operation
            && lhs.labels.map { "\($0.0)=\($0.1)" } == rhs.labels.map { "\($0.0)=\($0.1)" }
    }

    static let magic = "cmv1"
    /// Larger datagrams are refused by the decoder; the encoder never makes one (names and
    /// label values are bounded).
    public static let maxDatagramBytes = 512
    static let maxLabelValueBytes = 64

    /// The datagram, or nil when a label value could not be decoded back (a character outside
    /// `[A-Za-z0-9_./-]`, or too long): such an observation is dropped at the source.
    public func encoded() -> [UInt8]? {
        var fields: [String] = [Self.magic, String(pid)]
        switch operation {
        case .increment(let value): fields += ["inc", name, labelText, String(value)]
        case .add(let value): fields += ["add", name, labelText, Self.text(value)]
        case .set(let value): fields += ["set", name, labelText, Self.text(value)]
        case .observe(let value): fields += ["obs", name, labelText, Self.text(value)]
        case .nanoseconds(let value): fields += ["ns", name, labelText, String(value)]
        }
        guard labels.allSatisfy({ Self.isValidLabelValue($0.1) }) else { return nil }
        let bytes = Array(fields.joined(separator: "\t").utf8)
        return bytes.count <= Self.maxDatagramBytes ? bytes : nil
    }

    private var labelText: String { labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") }

    private static func text(_ value: Double) -> String { value.description }

    static func isValidLabelValue(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= maxLabelValueBytes
            && value.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x5F || byte == 0x2E || byte == 0x2F || byte == 0x2D
            }
    }

    /// The observation a datagram carries, or why it is refused.
    public static func decode(_ bytes: some Collection<UInt8>) throws(MalformedDatagram) -> MetricObservation {
        guard bytes.count <= maxDatagramBytes else { throw MalformedDatagram("\(bytes.count) bytes, more than \(maxDatagramBytes)") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw MalformedDatagram("not UTF-8") }
        let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 6, fields[0] == magic else { throw MalformedDatagram("not a \(magic) datagram of 6 fields") }
        guard let pid = Int32(fields[1]), pid > 0 else { throw MalformedDatagram("pid \(fields[1])") }
        let name = fields[3]
        guard let definition = MetricDefinition.all[name] else { throw MalformedDatagram("unknown metric \(name)") }
        let labels = try decodeLabels(fields[4], for: definition)
        let value = fields[5]
        let operation: Operation
        switch (fields[2], definition.kind) {
        case ("inc", .counter):
            guard let amount = Int64(value), amount >= 0 else { throw MalformedDatagram("\(name): counter increment \(value)") }
            operation = .increment(amount)
        case ("add", .gauge): operation = .add(try finite(value, name))
        case ("set", .gauge): operation = .set(try finite(value, name))
        case ("obs", .histogram): operation = .observe(try finite(value, name))
        case ("ns", .histogram):
            guard let amount = Int64(value), amount >= 0 else { throw MalformedDatagram("\(name): duration \(value) ns") }
            operation = .nanoseconds(amount)
        default: throw MalformedDatagram("\(name) is a \(definition.kind.rawValue): no operation \(fields[2])")
        }
        return MetricObservation(pid: pid, name: name, labels: labels, operation: operation)
    }

    private static func finite(_ text: String, _ name: String) throws(MalformedDatagram) -> Double {
        guard let value = Double(text), value.isFinite else { throw MalformedDatagram("\(name): value \(text)") }
        return value
    }

    /// Exactly the catalogue's label names, in its order, each with a valid value.
    private static func decodeLabels(_ text: String, for definition: MetricDefinition) throws(MalformedDatagram) -> [(String, String)] {
        let pairs = text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false)
        var labels: [(String, String)] = []
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, isValidLabelValue(String(parts[1])) else {
                throw MalformedDatagram("\(definition.name): label \(pair)")
            }
            labels.append((String(parts[0]), String(parts[1])))
        }
        guard labels.map(\.0) == definition.labels else {
            throw MalformedDatagram("\(definition.name): labels \(labels.map(\.0)), expected \(definition.labels)")
        }
        return labels
    }
}

/// Why a datagram was refused (the receiver counts it; tests read the reason).
public struct MalformedDatagram: Error, Equatable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { "malformed metrics datagram: \(reason)" }
}
