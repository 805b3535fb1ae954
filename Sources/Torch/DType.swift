import CTorch

/// Element types the bridge supports.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float16, bfloat16, float64, int64, int32, int8, uint8, bool

    var raw: ct_dtype {
        switch self {
        case .float32: CT_FLOAT32
        case .float16: CT_FLOAT16
        case .bfloat16: CT_BFLOAT16
        case .float64: CT_FLOAT64
        case .int64: CT_INT64
        case .int32: CT_INT32
        case .int8: CT_INT8
        case .uint8: CT_UINT8
        case .bool: CT_BOOL
        }
    }

    init(raw: ct_dtype) {
        switch raw {
        case CT_FLOAT16: self = .float16
        case CT_BFLOAT16: self = .bfloat16
        case CT_FLOAT64: self = .float64
        case CT_INT64: self = .int64
        case CT_INT32: self = .int32
        case CT_INT8: self = .int8
        case CT_UINT8: self = .uint8
        case CT_BOOL: self = .bool
        default: self = .float32
        }
    }

    /// Bytes per element.
    public var elementSize: Int { Int(ct_element_size(raw)) }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: true
        default: false
        }
    }

    /// PyTorch's spelling, e.g. "torch.float32" (what /info reports).
    public var torchName: String { "torch.\(rawValue)" }

    public var description: String { rawValue }
}

/// Where a tensor lives.
public enum Device: Equatable, Hashable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    var raw: ct_device {
        switch self {
        case .cpu: ct_device(type: CT_CPU, index: -1)
        case .cuda(let index): ct_device(type: CT_CUDA, index: Int32(index))
        }
    }

    init(raw: ct_device) {
        self = raw.type == CT_CUDA ? .cuda(Int(max(raw.index, 0))) : .cpu
    }

    /// Parses "cpu", "cuda" or "cuda:N".
    public init?(parsing text: String) {
        let lower = text.lowercased()
        if lower == "cpu" {
            self = .cpu
        } else if lower == "cuda" {
            self = .cuda(0)
        } else if lower.hasPrefix("cuda:"), let index = Int(lower.dropFirst(5)), index >= 0 {
            self = .cuda(index)
        } else {
            return nil
        }
    }

    /// PyTorch's spelling: "cpu" or "cuda:0".
    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let index): "cuda:\(index)"
        }
    }
}
