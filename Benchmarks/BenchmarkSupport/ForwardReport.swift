/// One run of the model benchmark, as JSON. scripts/bench/reference_forward.py writes the same
/// fields for the Python reference, and scripts/bench/summarize.py compares the two.
public struct ForwardReport: Codable, Sendable {
    public var threads: Int
    public var loadSeconds: Double
    public var queryTokens: Int
    public var imageTokens: Int
    public var imageTiles: Int
    /// Wall time of each timed run, milliseconds.
    public var queryMilliseconds: [Double]
    public var imageMilliseconds: [Double]
    /// Process CPU time (all threads) of each timed run: less disturbed than wall time by other
    /// load on a shared machine.
    public var queryCPUMilliseconds: [Double]
    public var imageCPUMilliseconds: [Double]
    /// Per image run: the vision tower with the connector, and the text tower with the head.
    public var imageVisionMilliseconds: [Double]
    public var imageTextMilliseconds: [Double]
    /// Resident set after loading the weights, and the process's peak, in bytes.
    public var residentAfterLoadBytes: Int
    public var peakResidentBytes: Int
}
