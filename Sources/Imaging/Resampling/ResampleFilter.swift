import Foundation

/// Resampling filters, defined as Pillow defines them (same support and formula),
/// because the reference resizes with Pillow. Idefics3 checkpoints use Lanczos.
public enum ResampleFilter: Sendable, Equatable {
    /// Pillow's LANCZOS: windowed sinc with a = 3.
    case lanczos

    /// The filter for a `resample` value from a processor config
    /// (`PIL.Image.Resampling`: 1 = LANCZOS), or nil when not implemented.
    public init?(pillowResample: Int) {
        switch pillowResample {
        case 1: self = .lanczos
        default: return nil
        }
    }

    /// Half-width of the kernel at scale 1.
    var support: Double {
        switch self {
        case .lanczos: return 3.0
        }
    }

    /// Kernel weight at distance `x`.
    @inline(__always)
    func weight(_ x: Double) -> Double {
        switch self {
        case .lanczos:
            // Pillow: truncated sinc, sinc(x) * sinc(x / 3) on [-3, 3).
            guard -3.0 <= x && x < 3.0 else { return 0.0 }
            return Self.sinc(x) * Self.sinc(x / 3.0)
        }
    }

    @inline(__always)
    private static func sinc(_ x: Double) -> Double {
        if x == 0.0 { return 1.0 }
        let angle = x * Double.pi
        return sin(angle) / angle
    }
}
