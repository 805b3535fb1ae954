/// Byte -> float for each channel, precomputed with the reference's exact float
/// steps: rescale in double then round to float32 (`astype(float64) * factor`,
/// then `astype(float32)`), then `(x - mean) / std` in float32.
struct NormalizationTable: Sendable {
    /// 3 * 256 values, channel-major.
    let values: [Float]

    init(config: Idefics3ProcessorConfig) {
        var values = [Float](repeating: 0, count: 3 * 256)
        for channel in 0..<3 {
            let mean = Float(config.imageMean[channel])
            let std = Float(config.imageStd[channel])
            for byte in 0..<256 {
                var value = config.doRescale ? Float(Double(byte) * config.rescaleFactor) : Float(byte)
                if config.doNormalize {
                    value = (value - mean) / std
                }
                values[channel * 256 + byte] = value
            }
        }
        self.values = values
    }
}
