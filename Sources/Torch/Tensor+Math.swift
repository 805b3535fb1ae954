import CTorch

extension Tensor {
    private func unary(_ op: ct_unary_op) throws -> Tensor { try Tensor.make(ct_unary(handle, op)) }
    private func binary(_ other: Tensor, _ op: ct_binary_op) throws -> Tensor {
        try Tensor.make(ct_binary(handle, other.handle, op))
    }
    private func binary(_ other: Double, _ op: ct_binary_op) throws -> Tensor {
        try Tensor.make(ct_binary_scalar(handle, other, op))
    }

    public func neg() throws -> Tensor { try unary(CT_NEG) }
    public func exp() throws -> Tensor { try unary(CT_EXP) }
    public func log() throws -> Tensor { try unary(CT_LOG) }
    public func sqrt() throws -> Tensor { try unary(CT_SQRT) }
    public func rsqrt() throws -> Tensor { try unary(CT_RSQRT) }
    public func reciprocal() throws -> Tensor { try unary(CT_RECIPROCAL) }
    public func tanh() throws -> Tensor { try unary(CT_TANH) }
    public func sin() throws -> Tensor { try unary(CT_SIN) }
    public func cos() throws -> Tensor { try unary(CT_COS) }
    public func sigmoid() throws -> Tensor { try unary(CT_SIGMOID) }
    public func relu() throws -> Tensor { try unary(CT_RELU) }
    public func silu() throws -> Tensor { try unary(CT_SILU) }
    public func abs() throws -> Tensor { try unary(CT_ABS) }
    public func logicalNot() throws -> Tensor { try unary(CT_LOGICAL_NOT) }

    public func pow(_ exponent: Double) throws -> Tensor { try binary(exponent, CT_POW) }
    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(exponent, CT_POW) }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(other, CT_MAXIMUM) }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(other, CT_MINIMUM) }

    public func eq(_ other: Tensor) throws -> Tensor { try binary(other, CT_EQ) }
    public func eq(_ other: Double) throws -> Tensor { try binary(other, CT_EQ) }
    public func ne(_ other: Tensor) throws -> Tensor { try binary(other, CT_NE) }
    public func ne(_ other: Double) throws -> Tensor { try binary(other, CT_NE) }
    public func lt(_ other: Tensor) throws -> Tensor { try binary(other, CT_LT) }
    public func lt(_ other: Double) throws -> Tensor { try binary(other, CT_LT) }
    public func le(_ other: Tensor) throws -> Tensor { try binary(other, CT_LE) }
    public func le(_ other: Double) throws -> Tensor { try binary(other, CT_LE) }
    public func gt(_ other: Tensor) throws -> Tensor { try binary(other, CT_GT) }
    public func gt(_ other: Double) throws -> Tensor { try binary(other, CT_GT) }
    public func ge(_ other: Tensor) throws -> Tensor { try binary(other, CT_GE) }
    public func ge(_ other: Double) throws -> Tensor { try binary(other, CT_GE) }
    public func logicalAnd(_ other: Tensor) throws -> Tensor { try binary(other, CT_LOGICAL_AND) }
    public func logicalOr(_ other: Tensor) throws -> Tensor { try binary(other, CT_LOGICAL_OR) }

    /// Clamps to [min, max]; a nil bound is not applied.
    public func clamp(min: Double? = nil, max: Double? = nil) throws -> Tensor {
        try Tensor.make(ct_clamp(handle, min == nil ? 0 : 1, min ?? 0, max == nil ? 0 : 1, max ?? 0))
    }

    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(rhs, CT_ADD) }
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(rhs, CT_SUB) }
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(rhs, CT_MUL) }
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(rhs, CT_DIV) }
    public static func + (lhs: Tensor, rhs: Double) throws -> Tensor { try lhs.binary(rhs, CT_ADD) }
    public static func - (lhs: Tensor, rhs: Double) throws -> Tensor { try lhs.binary(rhs, CT_SUB) }
    public static func * (lhs: Tensor, rhs: Double) throws -> Tensor { try lhs.binary(rhs, CT_MUL) }
    public static func / (lhs: Tensor, rhs: Double) throws -> Tensor { try lhs.binary(rhs, CT_DIV) }
    public static prefix func - (operand: Tensor) throws -> Tensor { try operand.neg() }
}
