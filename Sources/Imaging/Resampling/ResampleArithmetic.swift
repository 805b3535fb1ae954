/// Whose 8-bit resize a `Resampler` reproduces. Both use the same filter weights
/// (computed in double as Pillow's `precompute_coeffs` does), round the intermediate
/// of the two separable passes to 8 bits, and clip each pass to 0...255; they differ
/// in the fixed-point form of the weights and in the order of the passes.
///
/// The order matters far more than the rounding: Lanczos overshoots at sharp edges
/// and the overshoot is clipped after the first pass, so the two orders disagree by
/// up to 16 grey levels where an image has fine detail (measured on a 300x2500 page
/// resized to 246x2048: 28% of the bytes differ, max 16), while the two fixed-point
/// forms alone differ by at most 2 levels on well under 1% of the bytes.
public enum ResampleArithmetic: Sendable, Equatable {
    /// Pillow 13's `Image.resize`: 32-bit weights with 22 fraction bits; the vertical
    /// pass first when the height shrinks by more than twice the width's reduction,
    /// else the horizontal pass first. What transformers' PIL image backend runs.
    case pillow
    /// torch's antialiased uint8 `interpolate` on CPU (what torchvision's `resize` runs
    /// for uint8 tensors, so what transformers' torchvision image backend runs; its
    /// authors made it equal to Pillow-SIMD): 16-bit weights whose fraction bits are
    /// chosen per axis from that axis's largest weight, and always the horizontal
    /// pass first.
    case torch
}
