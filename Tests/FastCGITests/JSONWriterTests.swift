import Testing

@testable import FastCGI

@Suite struct JSONWriterTests {
    @Test func placesCommasAndNests() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a")
        writer.value(1)
        writer.key("b")
        writer.beginArray()
        writer.value(true)
        writer.null()
        writer.beginObject()
        writer.endObject()
        writer.beginArray()
        writer.endArray()
        writer.value("x")
        writer.endArray()
        writer.key("c")
        writer.value(Float(0.5))
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a":1,"b":[true,null,{},[],"x"],"c":0.5}"#)
    }

    @Test func floatMatrixAndArrayRoundTrip() throws {
        var generator = SeededGenerator(seed: 3)
        let columns = 7
        let values = (0..<(columns * 9)).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()) & 0xBF7F_FFFF) }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("m")
        writer.floatMatrix(values, columns: columns)
        writer.key("v")
        writer.floatArray(Array(values.prefix(5)))
        writer.key("empty")
        writer.floatMatrix([Float](), columns: 0)
        writer.endObject()
        let parsed = try JSONParser().parse(writer.bytes)
        let rows = try #require(parsed["m"]).arrayValue
        #expect(rows.count == 9)
        for (r, row) in rows.enumerated() {
            let items = row.arrayValue
            #expect(items.count == columns)
            for (c, item) in items.enumerated() {
                let expected = values[r * columns + c]
                switch item {
                case .double(let number): #expect(Float(number).bitPattern == expected.bitPattern)
                case .int(let number): #expect(Float(number) == expected)
                default: Issue.record("not a number: \(item)")
                }
            }
        }
        #expect(try #require(parsed["v"]).arrayValue.count == 5)
        #expect(parsed["empty"] == .array([]))
    }

    @Test func nonFiniteBecomesNullAndIsCounted() {
        var writer = JSONWriter()
        writer.floatArray([1, .nan, -.infinity, 2])
        writer.value(Double.infinity)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[1.0,null,null,2.0],null")
        #expect(writer.nonFiniteCount == 3)
    }

    @Test func randomValuesRoundTripThroughParser() throws {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            #expect(try JSONParser().parse(value.jsonBytes) == value)
        }
    }

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int.random(in: Int.min...Int.max, using: &generator))
        case 3: return .double(Double.random(in: -1e6...1e6, using: &generator).rounded(.towardZero) + 0.5)
        case 4:
            let scalars = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                Character(Unicode.Scalar(UInt32.random(in: 0...0x2FF, using: &generator))!)
            }
            return .string(String(scalars))
        case 5:
            return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            return .object(
                JSONObject(
                    (0..<Int.random(in: 0...4, using: &generator)).map { index in
                        (key: "k\(index)", value: randomValue(depth: depth + 1, using: &generator))
                    }))
        }
    }
}
