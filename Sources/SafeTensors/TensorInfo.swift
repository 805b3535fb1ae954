import Torch

/// One entry of a safetensors header.
public struct TensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range inside the file (not the data section).
    public let byteRange: Range<Int>
}

/// Safetensors dtype spellings this reader accepts.
enum SafeTensorsDType {
    static func parse(_ text: String) -> DType? {
        switch text {
        case "F32": .float32
        case "F16": .float16
        case "BF16": .bfloat16
        case "F64": .float64
        case "I64": .int64
        case "I32": .int32
        case "I8": .int8
        case "U8": .uint8
        case "BOOL": .bool
        default: nil
        }
    }
}
