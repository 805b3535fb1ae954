import Testing

@testable import FastCGI

@Suite struct JSONParserTests {
    /// Every case of the fixture: same value as Python's json.loads, or the same
    /// JSONDecodeError message and (character) position, or "unreadable" for bad UTF-8.
    @Test func matchesPythonJSONModule() throws {
        let fixture = try Fixture.json("json.json")
        let cases = try #require(fixture["parse"]).arrayValue
        #expect(cases.count > 60)
        for entry in cases {
            let input = try Fixture.bytes(base64: try #require(entry["input"]?.stringValue))
            let label = String(decoding: input, as: UTF8.self)
            let result = Result { () throws(JSONParseFailure) in try JSONParser().parse(input) }
            if let dumps = entry["dumps"]?.stringValue {
                let value = try result.get()
                // Python's canonical text parses to the same value (NaN compared as text).
                let expected = try JSONParser().parse(Array(dumps.utf8))
                #expect(Self.same(value, expected), "input \(label)")
            } else if let error = entry["error"] {
                guard case .failure(.syntax(let message, let position)) = result else {
                    Issue.record("expected a syntax error for \(label), got \(result)")
                    continue
                }
                #expect(message == error["msg"]?.stringValue, "input \(label)")
                #expect(position == error["pos"]?.intValue, "input \(label)")
            } else {
                guard case .failure(.unreadable) = result else {
                    Issue.record("expected unreadable for \(label), got \(result)")
                    continue
                }
            }
        }
    }

    @Test func compactTextMatchesPythonDumps() throws {
        let fixture = try Fixture.json("json.json")
        for entry in try #require(fixture["write"]).arrayValue {
            let value = try JSONParser().parse(Array(try #require(entry["value"]?.stringValue).utf8))
            let text = String(decoding: value.jsonBytes, as: UTF8.self)
            #expect(text == entry["text"]?.stringValue)
        }
    }

    @Test func depthIsBounded() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: JSONParseFailure.self) { try JSONParser().parse(deep) }
        do {
            _ = try JSONParser(maxDepth: 10).parse(Array("[[[[[[[[[[[1]]]]]]]]]]]".utf8))
            Issue.record("11 levels should exceed maxDepth 10")
        } catch {
            guard case .unreadable = error else {
                Issue.record("depth should be 'unreadable' (FastAPI 400), got \(error)")
                return
            }
        }
        #expect((try? JSONParser(maxDepth: 11).parse(Array("[[[[[[[[[[[1]]]]]]]]]]]".utf8))) != nil)
    }

    @Test func keepsIntegersAndFloatsApartAndLastDuplicateWins() throws {
        let value = try JSONParser().parse(Array(#"{"a": 1, "b": 1.0, "c": 1e2, "a": -7, "big": 123456789012345678901234}"#.utf8))
        guard case .object(let object) = value else {
            Issue.record("not an object")
            return
        }
        #expect(object["a"] == .int(-7))
        #expect(object["b"] == .double(1.0))
        #expect(object["c"] == .double(100))
        #expect(object["big"] == .double(Double("123456789012345678901234")!))
        #expect(object.keys == ["a", "b", "c", "a", "big"])
    }

    @Test func loneSurrogateEscapesBecomeReplacementCharacter() throws {
        let value = try JSONParser().parse(Array(#""\ud83d\u0041""#.utf8))
        #expect(value == .string("\u{FFFD}A"))
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SeededGenerator(seed: 99)
        let alphabet = Array(#"{}[]:,"\ 0123456789.eE+-truefalsnul\u"#.utf8) + [0xC3, 0xA9, 0xFF, 0x0A]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? JSONParser().parse(bytes)
        }
    }

    /// Values equal, treating NaN as equal to NaN.
    static func same(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.double(let a), .double(let b)) where a.isNaN && b.isNaN: return true
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { same($0, $1) }
        case (.object(let a), .object(let b)):
            // Python's dict collapses duplicates; compare by the keys that win.
            let keys = Set(a.keys)
            return keys == Set(b.keys) && keys.allSatisfy { same(a[$0]!, b[$0]!) }
        default: return lhs == rhs
        }
    }
}
