/// One run of the model benchmark, as JSON. scripts/bench/reference_forward.py writes the same
/// fields for the Python reference, and scripts/bench/summarize.py compares the two.
struct ForwardReport: Codable {
    var threads: Int
    var loadSeconds: Double
    var queryTokens: Int
    var imageTokens: Int
    var imageTiles: Int
    /// Wall time of each timed run, milliseconds.
    var queryMilliseconds: [Double]
    var imageMilliseconds: [Double]
    /// Process CPU time (all threads) of each timed run: less disturbed than wall time by other
    /// load on a shared machine.
    var queryCPUMilliseconds: [Double]
    var imageCPUMilliseconds: [Double]
    /// Per image run: the vision tower with the connector, and the text tower with the head.
    var imageVisionMilliseconds: [Double]
    var imageTextMilliseconds: [Double]
    /// Resident set after loading the weights, and the process's peak, in bytes.
    var residentAfterLoadBytes: Int
    var peakResidentBytes: Int
}
