import Foundation
import POSIX
import Testing

@testable import FastCGI

@Suite struct Float32ShortestTests {
    /// The Ryū tables follow from their definitions (recomputed with 128-bit arithmetic).
    @Test func tablesMatchTheirDefinition() {
        for (i, entry) in RyuF2S.power.enumerated() {
            var power: UInt128 = 1
            for _ in 0..<i { power *= 5 }
            let bits = 128 - power.leadingZeroBitCount
            let expected = bits >= 61 ? power >> (bits - 61) : power << (61 - bits)
            #expect(UInt128(entry) == expected, "power[\(i)]")
        }
        for (q, entry) in RyuF2S.inverse.enumerated() {
            var power: UInt128 = 1
            for _ in 0..<q { power *= 5 }
            let bits = 128 - power.leadingZeroBitCount
            let j = bits - 1 + 59
            // floor(2^j / 5^q) + 1 with 2^j possibly past 128 bits: divide the (high, low) pair.
            let dividend: (high: UInt128, low: UInt128) = j >= 128 ? (UInt128(1) << (j - 128), 0) : (0, UInt128(1) << j)
            let (quotient, _) = power.dividingFullWidth(dividend)
            #expect(UInt128(entry) == quotient + 1, "inverse[\(q)]")
        }
    }

    /// Digits, exponent and text agree with numpy's shortest float32 digits laid out by Python's repr.
    @Test func matchesNumpyReference() throws {
        let cases = try Fixture.json("float32.json").arrayValue
        #expect(cases.count > 2000)
        for entry in cases {
            let bits = UInt32(try #require(entry["bits"]?.intValue))
            let value = Float(bitPattern: bits)
            let decimal = Float32Shortest.decimal(value)
            let (digits, exponent) = Self.normalized(decimal)
            let expectedDigits = try #require(entry["digits"]?.stringValue)
            let expectedExponent = try #require(entry["exponent"]?.intValue)
            if expectedDigits == "0" {
                #expect(decimal.digits == 0)
            } else {
                #expect(digits == expectedDigits, "bits \(bits)")
                // numpy's exponent is that of the first digit.
                #expect(exponent + digits.count - 1 == expectedExponent, "bits \(bits)")
            }
            #expect(Float32Shortest.string(value) == entry["text"]?.stringValue, "bits \(bits)")
        }
    }

    /// On random bit patterns the digits equal those of `Float.description` (also shortest
    /// and closest) and the text reads back to the same bits.
    @Test func agreesWithSwiftDescriptionOnRandomBits() {
        var generator = SeededGenerator(seed: 42)
        var checked = 0
        while checked < 200_000 {
            let bits = UInt32(truncatingIfNeeded: generator.next())
            let value = Float(bitPattern: bits)
            guard value.isFinite else { continue }
            checked += 1
            let ours = Self.normalized(Float32Shortest.decimal(value))
            let swift = Self.parse(value.magnitude.description)
            if value != 0 {
                #expect(ours.digits == swift.digits && ours.exponent == swift.exponent, "bits \(bits): \(value)")
            }
            let text = Float32Shortest.string(value)
            #expect(Float(text)?.bitPattern == bits, "bits \(bits) -> \(text)")
            if ours.digits != swift.digits || Float(text)?.bitPattern != bits { break }
        }
    }

    @Test func layoutFollowsPythonRepr() {
        let cases: [(Float, String)] = [
            (0, "0.0"), (-0.0, "-0.0"), (1, "1.0"), (0.1, "0.1"), (-2.5, "-2.5"), (1e-5, "1e-05"),
            (100, "100.0"), (0.00015, "0.00015"), (3.4028235e38, "3.4028235e+38"), (Float(bitPattern: 1), "1e-45"),
            (16_777_216, "16777216.0"), (1.5e16, "1.5e+16"), (123_456.7, "123456.7"),
        ]
        for (value, text) in cases {
            #expect(Float32Shortest.string(value) == text)
        }
    }

    /// ~100k floats (one image answer) should encode in a few milliseconds (release build).
    @Test func encodesOneHundredThousandFloatsQuickly() {
        var generator = SeededGenerator(seed: 7)
        let values = (0..<(782 * 128)).map { _ in Float.random(in: -0.3...0.3, using: &generator) }
        var best = Double.infinity
        var size = 0
        for _ in 0..<3 {
            let start = MonotonicTime.now().seconds
            var writer = JSONWriter(capacity: 1 << 21)
            writer.floatMatrix(values, columns: 128)
            best = min(best, MonotonicTime.now().seconds - start)
            size = writer.bytes.count
        }
        print("JSONWriter: 100k floats -> \(size) bytes in \(String(format: "%.2f", best * 1000)) ms")
        #expect(size > 900_000)
        #if DEBUG
            // Unoptimised code is ~30x slower; this bound only catches pathologies (per-byte
            // generic appends took 1.9 s here before they were removed).
            #expect(best < 2.0)
        #else
            // Release: ~4 ms on a loaded 2-core machine.
            #expect(best < 0.05)
        #endif
    }

    /// `digits × 10^exponent` with trailing zeros moved into the exponent.
    static func normalized(_ decimal: Float32Shortest.Decimal) -> (digits: String, exponent: Int) {
        var digits = String(decimal.digits)
        var exponent = Int(decimal.exponent)
        while digits.count > 1 && digits.hasSuffix("0") {
            digits.removeLast()
            exponent += 1
        }
        return (digits, exponent)
    }

    /// The same normal form from a decimal text such as `1.25e-05` or `16777216.0`.
    static func parse(_ text: String) -> (digits: String, exponent: Int) {
        let parts = text.lowercased().split(separator: "e")
        var exponent = parts.count > 1 ? Int(parts[1])! : 0
        let mantissa = String(parts[0])
        let pieces = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(pieces[0])
        let fraction = pieces.count > 1 ? String(pieces[1]) : ""
        var digits = integer + fraction
        exponent -= fraction.count
        while digits.count > 1 && digits.hasPrefix("0") { digits.removeFirst() }
        while digits.count > 1 && digits.hasSuffix("0") {
            digits.removeLast()
            exponent += 1
        }
        return (digits, exponent)
    }
}
