/// The per-output-pixel weights of one resampling axis, computed as Pillow's
/// `precompute_coeffs` does (torch's antialiased `interpolate` computes the same
/// doubles), then converted to the fixed-point form of the chosen arithmetic:
///
/// - `.pillow` (`normalize_coeffs_8bpc`): 22 fraction bits;
/// - `.torch` (Pillow-SIMD's form, which torch adopted): the most fraction bits,
///   at most 22, for which the axis's largest weight still fits a signed 16-bit
///   integer when doubled.
///
/// Either way each weight is rounded half away from zero, so that the integer passes
/// reproduce the reference's 8-bit output exactly.
struct ResampleKernel: Sendable {
    /// Pillow's PRECISION_BITS (32 - 8 - 2): the fixed point of `.pillow`, and the
    /// upper bound of `.torch`'s search.
    static let maximumPrecisionBits: Int32 = 22

    /// Maximum number of taps per output pixel (row length of `weights`).
    let taps: Int
    /// First input index for each output index.
    let starts: [Int]
    /// Number of used taps for each output index.
    let counts: [Int]
    /// `outputSize * taps` fixed-point weights.
    let weights: [Int32]
    /// Fraction bits of `weights`.
    let precisionBits: Int32

    init(inputSize: Int, outputSize: Int, filter: ResampleFilter, arithmetic: ResampleArithmetic = .pillow) {
        // Pillow takes the box edges as floats and the scale as a double.
        let scale = Double(Float(inputSize) - Float(0)) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = filter.support * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](repeating: 0, count: outputSize)
        var counts = [Int](repeating: 0, count: outputSize)
        var normalized = [Double](repeating: 0, count: outputSize * taps)
        var largest = 0.0
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
                normalized[output * taps + tap] = weight
                total += weight
            }
            if total != 0.0 {
                for tap in 0..<count {
                    normalized[output * taps + tap] /= total
                    largest = max(largest, normalized[output * taps + tap])
                }
            }
            starts[output] = first
            counts[output] = count
        }
        let precision: Int32
        switch arithmetic {
        case .pillow: precision = Self.maximumPrecisionBits
        case .torch: precision = Self.sixteenBitPrecision(largestWeight: largest)
        }
        let unit = Double(Int32(1) << precision)
        self.weights = normalized.map { weight in
            let fixed = weight * unit
            return Int32(weight < 0 ? -0.5 + fixed : 0.5 + fixed)
        }
        self.taps = taps
        self.starts = starts
        self.counts = counts
        self.precisionBits = precision
    }

    /// Pillow-SIMD's choice: stop before the precision at which the largest weight,
    /// rounded, would reach 2^15 (so every weight and pixel product fits 16 x 16 -> 32
    /// bits); 22 when it never does.
    static func sixteenBitPrecision(largestWeight: Double) -> Int32 {
        var precision: Int32 = 0
        while precision < maximumPrecisionBits {
            let next = Int(0.5 + largestWeight * Double(Int64(1) << (precision + 1)))
            if next >= 1 << 15 { break }
            precision += 1
        }
        return precision
    }

    /// Pillow's `clip8`: the accumulated fixed-point value back to a byte (arithmetic
    /// shift, then clamp to 0...255; Pillow-SIMD's saturating packs do the same).
    @inline(__always)
    static func clip(_ value: Int32, shift: Int32) -> UInt8 {
        let shifted = value >> shift
        if shifted >= 255 { return 255 }
        if shifted <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: shifted)
    }
}
