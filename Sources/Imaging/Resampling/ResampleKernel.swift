/// The per-output-pixel weights of one resampling axis, computed as Pillow's
/// `precompute_coeffs` does and then converted to its fixed-point form
/// (`normalize_coeffs_8bpc`: 22 fractional bits, rounded half away from zero),
/// so that the integer passes below reproduce Pillow's 8-bit output exactly.
struct ResampleKernel: Sendable {
    /// Fixed-point fraction bits (Pillow's PRECISION_BITS = 32 - 8 - 2).
    static let precisionBits: Int32 = 22

    /// Maximum number of taps per output pixel (row length of `weights`).
    let taps: Int
    /// First input index for each output index.
    let starts: [Int]
    /// Number of used taps for each output index.
    let counts: [Int]
    /// `outputSize * taps` fixed-point weights.
    let weights: [Int32]

    init(inputSize: Int, outputSize: Int, filter: ResampleFilter) {
        // Pillow takes the box edges as floats and the scale as a double.
        let scale = Double(Float(inputSize) - Float(0)) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = filter.support * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](repeating: 0, count: outputSize)
        var counts = [Int](repeating: 0, count: outputSize)
        var weights = [Int32](repeating: 0, count: outputSize * taps)
        var row = [Double](repeating: 0, count: taps)
        let inverse = 1.0 / filterScale
        for output in 0..<outputSize {
            let center = 0.0 + (Double(output) + 0.5) * scale
            // Truncation toward zero, as C's (int) cast.
            let first = max(Int(center - support + 0.5), 0)
            let last = min(Int(center + support + 0.5), inputSize)
            let count = max(last - first, 0)
            var total = 0.0
            for tap in 0..<count {
                let weight = filter.weight((Double(tap + first) - center + 0.5) * inverse)
                row[tap] = weight
                total += weight
            }
            for tap in 0..<count {
                let normalized = total != 0.0 ? row[tap] / total : row[tap]
                let fixed = normalized * Double(1 << Self.precisionBits)
                weights[output * taps + tap] = Int32(normalized < 0 ? -0.5 + fixed : 0.5 + fixed)
            }
            starts[output] = first
            counts[output] = count
        }
        self.taps = taps
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }

    /// Pillow's `clip8`: the accumulated fixed-point value back to a byte.
    @inline(__always)
    static func clip(_ value: Int32) -> UInt8 {
        if value >= (1 << (precisionBits + 8)) { return 255 }
        if value <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: value >> precisionBits)
    }

    /// Pillow starts every accumulator at one half (rounding to nearest).
    static let half: Int32 = 1 << (precisionBits - 1)
}
