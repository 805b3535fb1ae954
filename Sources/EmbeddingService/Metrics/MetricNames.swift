/// Every metric the pool exposes on `/metrics`, in one place (issue 13). The Kubernetes
/// manifests' test reads the names from this file (`"colmodernvbert_[a-z_]+"`), so each name
/// is spelled here once, as a string literal, and nowhere else.
public enum MetricNames {
    public static let requests = "colmodernvbert_requests_total"
    public static let requestDuration = "colmodernvbert_request_duration_seconds"
    public static let requestsInFlight = "colmodernvbert_requests_in_flight"
    public static let queueDuration = "colmodernvbert_queue_duration_seconds"
    public static let inferenceDuration = "colmodernvbert_inference_duration_seconds"
    public static let batchSize = "colmodernvbert_batch_size"
    public static let imageTiles = "colmodernvbert_image_tiles"
    public static let workersReady = "colmodernvbert_workers_ready"
    public static let workerRestarts = "colmodernvbert_worker_restarts_total"
    public static let downloadBytes = "colmodernvbert_download_bytes_total"
    public static let metricsDropped = "colmodernvbert_metrics_dropped_total"
}

/// What the master's registry needs to know of a metric: its kind, help text, label names
/// (a datagram naming others is refused) and, for histograms, the buckets.
public struct MetricDefinition: Sendable, Equatable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public let name: String
    public let kind: Kind
    public let help: String
    public let labels: [String]
    /// Upper bounds (seconds for the `_seconds` histograms); empty for counters and gauges.
    public let buckets: [Double]
}

extension MetricDefinition {
    /// Seconds: from a 20 ms query to a multi-page request on CPU (a page's forward pass is
    /// ~1 s on the development machine, 8 pages ~8 s, the full-size checkpoint ~30 s per page).
    static let secondsBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

    /// The catalogue, by name. The route label is a registered route path or `other`, the
    /// status label an HTTP status code, `kind` is `queries` or `images`: all bounded.
    public static let all: [String: MetricDefinition] = Dictionary(
        uniqueKeysWithValues: [
            MetricDefinition(
                name: MetricNames.requests, kind: .counter, help: "Requests answered by the pool's workers, by route and status.",
                labels: ["route", "status"], buckets: []),
            MetricDefinition(
                name: MetricNames.requestDuration, kind: .histogram, help: "Time a worker took to answer a request, by route.",
                labels: ["route"], buckets: secondsBuckets),
            MetricDefinition(
                name: MetricNames.requestsInFlight, kind: .gauge,
                help: "Requests being handled by the pool's workers now (summed over the live workers).", labels: [], buckets: []),
            MetricDefinition(
                name: MetricNames.queueDuration, kind: .histogram,
                help: "Time a request's items waited in a worker's batcher before their forward pass.", labels: ["kind"],
                buckets: secondsBuckets),
            MetricDefinition(
                name: MetricNames.inferenceDuration, kind: .histogram, help: "Time of one forward pass.", labels: ["kind"],
                buckets: secondsBuckets),
            MetricDefinition(
                name: MetricNames.batchSize, kind: .histogram, help: "Items (queries or images) per forward pass.", labels: ["kind"],
                buckets: [1, 2, 4, 8, 16, 32, 64, 128]),
            MetricDefinition(
                name: MetricNames.imageTiles, kind: .histogram, help: "Tiles per image, the global view included.", labels: [],
                buckets: [1, 2, 3, 5, 9, 13, 17, 26]),
            MetricDefinition(
                name: MetricNames.workersReady, kind: .gauge, help: "Workers that announced ready and have not exited.", labels: [],
                buckets: []),
            MetricDefinition(
                name: MetricNames.workerRestarts, kind: .counter, help: "Workers that died and were scheduled for a restart.",
                labels: [], buckets: []),
            MetricDefinition(
                name: MetricNames.downloadBytes, kind: .counter, help: "Model bytes the master downloaded from the hub.", labels: [],
                buckets: []),
            MetricDefinition(
                name: MetricNames.metricsDropped, kind: .counter,
                help: "Observations lost on the way to the master (full socket buffer, or a malformed datagram).",
                labels: ["reason"], buckets: []),
        ].map { ($0.name, $0) })
}
