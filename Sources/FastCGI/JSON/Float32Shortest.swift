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
        0x800_0000_0000_0001, 0x666_6666_6666_6667, 0x51e_b851_eb85_1eb9, 0x418_9374_bc6a_7efa,
        0x68d_b8ba_c710_cb2a, 0x53e_2d62_38da_3c22, 0x431_bde8_2d7b_634e, 0x6b5_fca6_af2b_d216,
        0x55e_63b8_8c23_0e78, 0x44b_82fa_09b5_a52d, 0x6df_37f6_75ef_6eae, 0x57f_5ff8_5e59_2558,
        0x465_e660_4b7a_8447, 0x709_709a_125d_a071, 0x5a1_26e1_a84a_e6c1, 0x480_ebe7_b9d5_8567,
        0x734_aca5_f622_6f0b, 0x5c3_bd51_91b5_25a3, 0x49c_9774_7490_eae9, 0x760_f253_edb4_ab0e,
        0x5e7_2843_2490_88d8, 0x4b8_ed02_83a6_d3e0, 0x78e_4804_05d7_b966, 0x60b_6cd0_04ac_9452,
        0x4d5_f0a6_6a23_a9db, 0x7bc_b43d_769f_762b, 0x630_9031_2bb2_c4ef, 0x4f3_a68d_bc8f_03f3,
        0x7ec_3daf_9418_0651, 0x656_97bf_a9ac_d1da, 0x512_12ff_baf0_a7e2,
    ]

    @usableFromInline static let power: [UInt64] = [
        0x1000_0000_0000_0000, 0x1400_0000_0000_0000, 0x1900_0000_0000_0000, 0x1f40_0000_0000_0000,
        0x1388_0000_0000_0000, 0x186a_0000_0000_0000, 0x1e84_8000_0000_0000, 0x1312_d000_0000_0000,
        0x17d7_8400_0000_0000, 0x1dcd_6500_0000_0000, 0x12a0_5f20_0000_0000, 0x1748_76e8_0000_0000,
        0x1d1a_94a2_0000_0000, 0x1230_9ce5_4000_0000, 0x16bc_c41e_9000_0000, 0x1c6b_f526_3400_0000,
        0x11c3_7937_e080_0000, 0x1634_5785_d8a0_0000, 0x1bc1_6d67_4ec8_0000, 0x1158_e460_913d_0000,
        0x15af_1d78_b58c_4000, 0x1b1a_e4d6_e2ef_5000, 0x10f0_cf06_4dd5_9200, 0x152d_02c7_e14a_f680,
        0x1a78_4379_d99d_b420, 0x108b_2a2c_2802_9094, 0x14ad_f4b7_3203_34b9, 0x19d9_71e4_fe84_01e7,
        0x1027_e72f_1f12_8130, 0x1431_e0fa_e6d7_217c, 0x193e_5939_a08c_e9db, 0x1f8d_ef88_08b0_2452,
        0x13b8_b5b5_056e_16b3, 0x18a6_e322_46c9_9c60, 0x1ed0_9bea_d87c_0378, 0x1342_6172_c74d_822b,
        0x1812_f9cf_7920_e2b6, 0x1e17_b843_5769_1b64, 0x12ce_d32a_16a1_b11e, 0x1782_87f4_9c4a_1d66,
        0x1d63_29f1_c35c_a4bf, 0x125d_fa37_1a19_e6f7, 0x16f5_78c4_e0a0_60b5, 0x1cb2_d6f6_18c8_78e3,
        0x11ef_c659_cf7d_4b8d, 0x166b_b7f0_435c_9e71, 0x1c06_a5ec_5433_c60d,
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
