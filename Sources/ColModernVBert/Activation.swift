import Torch

/// transformers' ACT2FN names for the two GELU forms libtorch fuses.
enum GeluApproximationName {
    static func parse(_ name: String, field: String) throws -> GeluApproximation {
        switch name {
        case "gelu": return .none
        case "gelu_pytorch_tanh", "gelu_new", "gelu_fast": return .tanh
        default: throw ColModernVBertError.unsupportedConfig(field: field, value: name)
        }
    }
}
