/// Byte -> float for each channel, precomputed with the reference backend's exact
/// float steps (each resized byte maps to one float, so a table is exact):
///
/// - `.pil`: rescale in double then round to float32 (`astype(float64) * factor`,
///   then `astype(float32)`), then `(x - mean) / std` in float32;
/// - `.torchvision`: with rescale and normalise both on, one fused float32 step,
///   `(x - m) / s` with `m = float32(mean) * float32(1 / factor)` (and `s` alike), as
///   its `rescale_and_normalize` folds the factor into mean and std; otherwise the
///   float32 rescale `x * float32(factor)` or `(x - mean) / std` alone.
struct NormalizationTable: Sendable {
    /// 3 * 256 values, channel-major.
    let values: [Float]

    init(config: Idefics3ProcessorConfig, backend: ImageBackend = .pil) {
        var values = [Float](repeating: 0, count: 3 * 256)
        for channel in 0..<3 {
            let mean = Float(config.imageMean[channel])
            let std = Float(config.imageStd[channel])
            for byte in 0..<256 {
                values[channel * 256 + byte] = Self.value(byte, mean: mean, std: std, config: config, backend: backend)
            }
        }
        self.values = values
    }

    private static func value(_ byte: Int, mean: Float, std: Float, config: Idefics3ProcessorConfig, backend: ImageBackend)
        -> Float
    {
        switch backend {
        case .pil:
            var value = config.doRescale ? Float(Double(byte) * config.rescaleFactor) : Float(byte)
            if config.doNormalize {
                value = (value - mean) / std
            }
            return value
        case .torchvision:
            if config.doNormalize && config.doRescale {
                let inverse = Float(1.0 / config.rescaleFactor)
                return (Float(byte) - mean * inverse) / (std * inverse)
            }
            if config.doNormalize {
                return (Float(byte) - mean) / std
            }
            return config.doRescale ? Float(byte) * Float(config.rescaleFactor) : Float(byte)
        }
    }
}
