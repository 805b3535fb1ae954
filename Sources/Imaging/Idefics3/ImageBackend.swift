/// Which of transformers' two Idefics3 image processors the pipeline reproduces.
/// transformers picks the torchvision one whenever torchvision is installed, as it is
/// in the replaced service's images; the geometry is the same, the arithmetic is not
/// (see `ResampleArithmetic` for the resizes). Set by `COLPALI_IMAGE_BACKEND`.
public enum ImageBackend: String, Sendable, Equatable, CaseIterable {
    /// `Idefics3ImageProcessor` (torchvision backend): resizes with torch's uint8
    /// antialiased Lanczos, rescales and normalises in one float32 step,
    /// `(x - mean / factor) / (std / factor)`.
    case torchvision
    /// `Idefics3ImageProcessorPil`: resizes with Pillow, rescales in double, then
    /// normalises in float32.
    case pil

    /// The resize arithmetic of this backend.
    public var resampleArithmetic: ResampleArithmetic {
        switch self {
        case .torchvision: return .torch
        case .pil: return .pillow
        }
    }
}
