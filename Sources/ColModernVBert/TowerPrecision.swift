import Torch

/// The compute dtype of each part of the model: the vision tower with the connector, and the text
/// tower with the head. The connector's output is converted to the text dtype before the text tower.
public struct TowerDTypes: Sendable, Equatable, CustomStringConvertible {
    public var vision: DType
    public var text: DType

    public init(vision: DType, text: DType) {
        self.vision = vision
        self.text = text
    }

    public static func all(_ dtype: DType) -> TowerDTypes { TowerDTypes(vision: dtype, text: dtype) }

    /// Vision tower and connector in bfloat16, text tower and head in float32: on CPUs with native
    /// bfloat16 matrix instructions the vision tower (most of a page's FLOPs) runs 2-4x faster, while
    /// queries, which never touch it, stay exactly as in float32.
    public static let mixed = TowerDTypes(vision: .bfloat16, text: .float32)

    /// "float32", "bfloat16", or "mixed (vision bfloat16, text float32)".
    public var description: String {
        vision == text ? text.rawValue : "mixed (vision \(vision), text \(text))"
    }
}

/// The dtypes a model runs in, chosen once at load from `ModelOptions` and the machine, with the
/// reason (for the start-up log).
public struct TowerPrecision: Sendable, Equatable {
    public var dtypes: TowerDTypes
    /// The CPU tier the choice was made for; nil on a GPU.
    public var cpuISA: CPUISA?
    public var reason: String

    /// - `dtype` set: every tower in it (unless `visionDType` overrides the vision tower).
    /// - `dtype` nil (`auto`): on a GPU bfloat16 everywhere; on a CPU with native bfloat16 matrix
    ///   instructions (AMX-BF16 or AVX512_BF16) the mixed mode; on other CPUs float32 everywhere
    ///   (emulated bfloat16 products are slower than float32 ones).
    static func resolve(device: Device, dtype: DType?, visionDType: DType?, cpu: () -> CPUFeatures) -> TowerPrecision {
        var dtypes: TowerDTypes
        var cpuISA: CPUISA?
        var reason: String
        if device != .cpu {
            dtypes = .all(dtype ?? .bfloat16)
            reason = dtype == nil ? "auto on \(device): bfloat16" : "requested \(dtypes.text)"
        } else {
            let features = cpu()
            cpuISA = features.isa
            if let dtype {
                dtypes = .all(dtype)
                reason = "requested \(dtype); \(features.explanation)"
            } else if features.isa.hasNativeBF16MatrixProducts {
                dtypes = .mixed
                reason = "auto: \(features.explanation): native bfloat16 matrix products, so the vision tower runs in bfloat16"
            } else {
                dtypes = .all(.float32)
                reason = "auto: \(features.explanation): no native bfloat16 matrix products, so float32 throughout"
            }
        }
        if let visionDType, visionDType != dtypes.vision {
            dtypes.vision = visionDType
            reason += "; vision tower forced to \(visionDType)"
        }
        return TowerPrecision(dtypes: dtypes, cpuISA: cpuISA, reason: reason)
    }

    /// One line for logs: what runs where and why.
    public var summary: String { "\(dtypes) (\(reason))" }
}
