/// Shortest decimal text that reads back as the same `Float` (binary32).
///
/// Why not `Float.description`: it allocates nothing for short strings but still costs
/// ~90 ns per value here, and an image answer is ~100k floats. This is Ryū
/// (U. Adams, "Ryū: fast float-to-string conversion", PLDI 2018) specialised to
/// binary32: the digits are the shortest that round-trip, and among those the closest
/// to the exact value (ties to even), the same digits `Float.description` and numpy's
/// `repr(np.float32(x))` produce.
///
/// Layout follows Python's `repr` of a float: positional when the decimal exponent
/// is in -4 ..< 16 (`0.0001`, `123.5`, `16777216.0`), scientific otherwise
/// (`1e-05`, `3.4028235e+38`). Note the old FastAPI service printed float32 values
/// widened to double (`0.10000000149011612`); this prints `0.1`, which any client
/// parsing to float32 reads back bit-exactly and to float64 within float32 precision.
public enum Float32Shortest {
    /// Decimal digits and exponent: `value = digits × 10^exponent`.
    public struct Decimal: Equatable, Sendable {
        public var digits: UInt32
        public var exponent: Int32

        @inlinable
        public init(digits: UInt32, exponent: Int32) {
            self.digits = digits
            self.exponent = exponent
        }
    }

    /// Longest text `write` produces: `-1234567800000000.0` (positional up to 16 integer
    /// digits, as Python's repr) is 19 bytes; `-1.2345678e-38` is 14.
    public static let maxLength = 24

    /// The shortest round-trip decimal of a finite, non-zero magnitude.
    /// Zero yields `(0, 0)`; callers handle sign, NaN and infinity.
    @inlinable
    public static func decimal(_ value: Float) -> Decimal {
        let bits = value.bitPattern
        let mantissa = bits & 0x7F_FFFF
        let exponent = (bits >> 23) & 0xFF
        if mantissa == 0 && exponent == 0 { return Decimal(digits: 0, exponent: 0) }
        return RyuF2S.shortest(ieeeMantissa: mantissa, ieeeExponent: exponent)
    }

    /// Writes the text of a finite `value` at `out` (at least `maxLength` bytes) and
    /// returns the number of bytes written. Non-finite values must be handled by the caller.
    @inlinable
    public static func write(_ value: Float, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var position = 0
        if value.sign == .minus {
            out[0] = UInt8(ascii: "-")
            position = 1
        }
        let decimal = decimal(value)
        if decimal.digits == 0 {
            out[position] = UInt8(ascii: "0")
            out[position + 1] = UInt8(ascii: ".")
            out[position + 2] = UInt8(ascii: "0")
            return position + 3
        }
        return position + layout(decimal, to: out + position)
    }

    /// The text of `value` (convenience for tests and small outputs).
    public static func string(_ value: Float) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxLength) { buffer in
            let count = write(value, to: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }

    /// Lays out `digits × 10^exponent` (digits > 0). Digits are produced last-first with
    /// `% 10` straight into their final positions, so no scratch buffer is needed.
    @inlinable
    static func layout(_ decimal: Decimal, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let length = decimalLength(decimal.digits)
        // value = 0.d1d2…dn × 10^point
        let point = length + Int(decimal.exponent)
        var remaining = decimal.digits
        if point > -4 && point <= 16 {
            if point <= 0 {
                // 0.000ddd
                out[0] = UInt8(ascii: "0")
                out[1] = UInt8(ascii: ".")
                let zeros = -point
                for index in 0..<zeros { out[2 + index] = UInt8(ascii: "0") }
                let first = 2 + zeros
                var index = first + length - 1
                while index >= first {
                    out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                    remaining /= 10
                    index -= 1
                }
                return first + length
            }
            if point < length {
                // ddd.ddd: digit i goes to i, or i + 1 after the point
                var digit = length - 1
                while digit >= 0 {
                    out[digit < point ? digit : digit + 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                    remaining /= 10
                    digit -= 1
                }
                out[point] = UInt8(ascii: ".")
                return length + 1
            }
            // ddd000.0
            var digit = length - 1
            while digit >= 0 {
                out[digit] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
                digit -= 1
            }
            for index in length..<point { out[index] = UInt8(ascii: "0") }
            out[point] = UInt8(ascii: ".")
            out[point + 1] = UInt8(ascii: "0")
            return point + 2
        }
        // d.ddde±XX
        var position: Int
        if length == 1 {
            out[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining)
            position = 1
        } else {
            var digit = length - 1
            while digit >= 1 {
                out[digit + 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
                digit -= 1
            }
            out[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining)
            out[1] = UInt8(ascii: ".")
            position = length + 1
        }
        var exponent = point - 1
        out[position] = UInt8(ascii: "e")
        out[position + 1] = exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
        if exponent < 0 { exponent = -exponent }
        out[position + 2] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: exponent / 10)
        out[position + 3] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: exponent % 10)
        return position + 4
    }

    @inlinable
    static func decimalLength(_ value: UInt32) -> Int {
        if value >= 100_000_000 { return 9 }
        if value >= 10_000_000 { return 8 }
        if value >= 1_000_000 { return 7 }
        if value >= 100_000 { return 6 }
        if value >= 10_000 { return 5 }
        if value >= 1_000 { return 4 }
        if value >= 100 { return 3 }
        if value >= 10 { return 2 }
        return 1
    }
}

/// Ryū for binary32. The two tables are 64-bit approximations of powers of five:
/// `inverse[q] = ⌊2^(bitlen(5^q) − 1 + 59) / 5^q⌋ + 1` and `power[i] = 5^i` scaled to its
/// top 61 bits (`FastCGITests` recomputes both from these definitions).
@usableFromInline
enum RyuF2S {
    @usableFromInline static let mantissaBits: Int32 = 23
    @usableFromInline static let exponentBias: Int32 = 127
    @usableFromInline static let inverseBitCount: Int32 = 59
    @usableFromInline static let powerBitCount: Int32 = 61

    @usableFromInline static let inverse: [UInt64] = [
        0x800000000000001, 0x666666666666667, 0x51eb851eb851eb9, 0x4189374bc6a7efa,
        0x68db8bac710cb2a, 0x53e2d6238da3c22, 0x431bde82d7b634e, 0x6b5fca6af2bd216,
        0x55e63b88c230e78, 0x44b82fa09b5a52d, 0x6df37f675ef6eae, 0x57f5ff85e592558,
        0x465e6604b7a8447, 0x709709a125da071, 0x5a126e1a84ae6c1, 0x480ebe7b9d58567,
        0x734aca5f6226f0b, 0x5c3bd5191b525a3, 0x49c97747490eae9, 0x760f253edb4ab0e,
        0x5e72843249088d8, 0x4b8ed0283a6d3e0, 0x78e480405d7b966, 0x60b6cd004ac9452,
        0x4d5f0a66a23a9db, 0x7bcb43d769f762b, 0x63090312bb2c4ef, 0x4f3a68dbc8f03f3,
        0x7ec3daf94180651, 0x65697bfa9acd1da, 0x51212ffbaf0a7e2,
    ]

    @usableFromInline static let power: [UInt64] = [
        0x1000000000000000, 0x1400000000000000, 0x1900000000000000, 0x1f40000000000000,
        0x1388000000000000, 0x186a000000000000, 0x1e84800000000000, 0x1312d00000000000,
        0x17d7840000000000, 0x1dcd650000000000, 0x12a05f2000000000, 0x174876e800000000,
        0x1d1a94a200000000, 0x12309ce540000000, 0x16bcc41e90000000, 0x1c6bf52634000000,
        0x11c37937e0800000, 0x16345785d8a00000, 0x1bc16d674ec80000, 0x1158e460913d0000,
        0x15af1d78b58c4000, 0x1b1ae4d6e2ef5000, 0x10f0cf064dd59200, 0x152d02c7e14af680,
        0x1a784379d99db420, 0x108b2a2c28029094, 0x14adf4b7320334b9, 0x19d971e4fe8401e7,
        0x1027e72f1f128130, 0x1431e0fae6d7217c, 0x193e5939a08ce9db, 0x1f8def8808b02452,
        0x13b8b5b5056e16b3, 0x18a6e32246c99c60, 0x1ed09bead87c0378, 0x13426172c74d822b,
        0x1812f9cf7920e2b6, 0x1e17b84357691b64, 0x12ced32a16a1b11e, 0x178287f49c4a1d66,
        0x1d6329f1c35ca4bf, 0x125dfa371a19e6f7, 0x16f578c4e0a060b5, 0x1cb2d6f618c878e3,
        0x11efc659cf7d4b8d, 0x166bb7f0435c9e71, 0x1c06a5ec5433c60d,
    ]

    /// ⌈log2(5^e)⌉ for 0 ≤ e ≤ 3528 (bit length of 5^e).
    @inlinable static func pow5Bits(_ e: Int32) -> Int32 {
        Int32(truncatingIfNeeded: (UInt32(truncatingIfNeeded: e) &* 1_217_359) >> 19) + 1
    }

    /// ⌊log10(2^e)⌋ for 0 ≤ e ≤ 1650.
    @inlinable static func log10Pow2(_ e: Int32) -> Int32 {
        Int32(truncatingIfNeeded: (UInt32(truncatingIfNeeded: e) &* 78_913) >> 18)
    }

    /// ⌊log10(5^e)⌋ for 0 ≤ e ≤ 2620.
    @inlinable static func log10Pow5(_ e: Int32) -> Int32 {
        Int32(truncatingIfNeeded: (UInt32(truncatingIfNeeded: e) &* 732_923) >> 20)
    }

    @inlinable static func multipleOfPowerOf5(_ value: UInt32, _ p: Int32) -> Bool {
        var value = value
        var count: Int32 = 0
        while value != 0 && value % 5 == 0 {
            value /= 5
            count += 1
        }
        return count >= p
    }

    @inlinable static func multipleOfPowerOf2(_ value: UInt32, _ p: Int32) -> Bool {
        value & ((UInt32(1) << UInt32(p)) &- 1) == 0
    }

    /// ⌊m × factor / 2^shift⌋ with shift > 32, using two 32×32→64 products.
    @inlinable static func mulShift(_ m: UInt32, _ factor: UInt64, _ shift: Int32) -> UInt32 {
        let low = UInt64(m) &* (factor & 0xFFFF_FFFF)
        let high = UInt64(m) &* (factor >> 32)
        let sum = (low >> 32) &+ high
        return UInt32(truncatingIfNeeded: sum >> UInt64(shift - 32))
    }

    @inlinable
    static func shortest(ieeeMantissa: UInt32, ieeeExponent: UInt32) -> Float32Shortest.Decimal {
        let e2: Int32
        let m2: UInt32
        if ieeeExponent == 0 {
            e2 = 1 - exponentBias - mantissaBits - 2
            m2 = ieeeMantissa
        } else {
            e2 = Int32(ieeeExponent) - exponentBias - mantissaBits - 2
            m2 = (1 << 23) | ieeeMantissa
        }
        let acceptBounds = m2 & 1 == 0

        // The value and the midpoints to its neighbours, scaled by 4.
        let mv = 4 &* m2
        let mp = 4 &* m2 &+ 2
        let mmShift: UInt32 = (ieeeMantissa != 0 || ieeeExponent <= 1) ? 1 : 0
        let mm = 4 &* m2 &- 1 &- mmShift

        var vr: UInt32
        var vp: UInt32
        var vm: UInt32
        var e10: Int32
        var vmIsTrailingZeros = false
        var vrIsTrailingZeros = false
        var lastRemovedDigit: UInt32 = 0

        if e2 >= 0 {
            let q = log10Pow2(e2)
            e10 = q
            let k = inverseBitCount + pow5Bits(q) - 1
            let i = -e2 + q + k
            let factor = inverse[Int(q)]
            vr = mulShift(mv, factor, i)
            vp = mulShift(mp, factor, i)
            vm = mulShift(mm, factor, i)
            if q != 0 && (vp &- 1) / 10 <= vm / 10 {
                let l = inverseBitCount + pow5Bits(q - 1) - 1
                lastRemovedDigit = mulShift(mv, inverse[Int(q - 1)], -e2 + q - 1 + l) % 10
            }
            if q <= 9 {
                if mv % 5 == 0 {
                    vrIsTrailingZeros = multipleOfPowerOf5(mv, q)
                } else if acceptBounds {
                    vmIsTrailingZeros = multipleOfPowerOf5(mm, q)
                } else if multipleOfPowerOf5(mp, q) {
                    vp &-= 1
                }
            }
        } else {
            let q = log10Pow5(-e2)
            e10 = q + e2
            let i = -e2 - q
            let k = pow5Bits(i) - powerBitCount
            var j = q - k
            let factor = power[Int(i)]
            vr = mulShift(mv, factor, j)
            vp = mulShift(mp, factor, j)
            vm = mulShift(mm, factor, j)
            if q != 0 && (vp &- 1) / 10 <= vm / 10 {
                j = q - 1 - (pow5Bits(i + 1) - powerBitCount)
                lastRemovedDigit = mulShift(mv, power[Int(i + 1)], j) % 10
            }
            if q <= 1 {
                vrIsTrailingZeros = true
                if acceptBounds {
                    vmIsTrailingZeros = mmShift == 1
                } else {
                    vp &-= 1
                }
            } else if q < 31 {
                vrIsTrailingZeros = multipleOfPowerOf2(mv, q - 1)
            }
        }

        // Drop digits while the interval still holds a shorter number.
        var removed: Int32 = 0
        let output: UInt32
        if vmIsTrailingZeros || vrIsTrailingZeros {
            while vp / 10 > vm / 10 {
                vmIsTrailingZeros = vmIsTrailingZeros && vm % 10 == 0
                vrIsTrailingZeros = vrIsTrailingZeros && lastRemovedDigit == 0
                lastRemovedDigit = vr % 10
                vr /= 10
                vp /= 10
                vm /= 10
                removed += 1
            }
            if vmIsTrailingZeros {
                while vm % 10 == 0 {
                    vrIsTrailingZeros = vrIsTrailingZeros && lastRemovedDigit == 0
                    lastRemovedDigit = vr % 10
                    vr /= 10
                    vp /= 10
                    vm /= 10
                    removed += 1
                }
            }
            if vrIsTrailingZeros && lastRemovedDigit == 5 && vr % 2 == 0 {
                lastRemovedDigit = 4  // exactly halfway: round to even
            }
            let roundUp = (vr == vm && (!acceptBounds || !vmIsTrailingZeros)) || lastRemovedDigit >= 5
            output = vr &+ (roundUp ? 1 : 0)
        } else {
            while vp / 10 > vm / 10 {
                lastRemovedDigit = vr % 10
                vr /= 10
                vp /= 10
                vm /= 10
                removed += 1
            }
            output = vr &+ ((vr == vm || lastRemovedDigit >= 5) ? 1 : 0)
        }
        return Float32Shortest.Decimal(digits: output, exponent: e10 + removed)
    }
}
