import Foundation
import Testing
import Tokenizers

/// Every string of the generated corpus must get exactly the ids the Python `tokenizers`
/// package produced (scripts/fixtures/tokenizer_corpus.py).
@Suite struct DifferentialTests {
    struct Line: Decodable {
        var index = 0
        let text: String
        let ids: [Int]?
        let hash: String?
        let variant: String?

        enum CodingKeys: String, CodingKey { case text, ids, hash, variant }
    }

    /// Parsed with JSONDecoder: swift-corelibs JSONSerialization drops raw U+FEFF in strings.
    static func corpus() throws -> [Line] {
        let data = try Fixtures.data("corpus.jsonl")
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).enumerated().map { index, raw in
            var line = try decoder.decode(Line.self, from: Data(raw))
            line.index = index
            return line
        }
    }

    /// FNV-1a 64 over each id's 4 little-endian bytes, as in the generator.
    static func hash(_ ids: [Int]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for id in ids {
            let value = UInt32(truncatingIfNeeded: id)
            for shift in stride(from: 0, to: 32, by: 8) {
                h ^= UInt64((value >> UInt32(shift)) & 0xFF)
                h = h &* 0x100_0000_01B3
            }
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func mismatches(_ lines: [Line], tokenizer: Tokenizer) throws -> [String] {
        var failures: [String] = []
        for line in lines {
            let ids = tokenizer.encode(line.text)
            let ok = line.ids.map { $0 == ids } ?? (line.hash == hash(ids))
            if !ok {
                let expected = line.ids.map { "\($0)" } ?? "hash \(line.hash ?? "?")"
                failures.append("line \(line.index + 1) \(line.text.debugDescription): got \(ids), expected \(expected)")
            }
        }
        return failures
    }

    @Test func corpusIsLargeAndVaried() throws {
        let lines = try Self.corpus().filter { $0.variant == nil }
        #expect(lines.count >= 10_000)
        #expect(lines.filter { $0.ids != nil }.count >= 1_000)
        // Every line has something to compare against.
        #expect(lines.allSatisfy { $0.ids != nil || $0.hash?.count == 16 })
    }

    @Test func baseTokenizerMatchesReferenceOnEveryString() throws {
        let tokenizer = try Fixtures.tokenizer()
        let lines = try Self.corpus().filter { $0.variant == nil }
        let failures = try Self.mismatches(lines, tokenizer: tokenizer)
        #expect(failures.isEmpty, "\(failures.count) of \(lines.count) differ:\n\(failures.prefix(10).joined(separator: "\n"))")
    }

    @Test func variantTokenizersMatchReference() throws {
        let variants = try #require(
            try JSONSerialization.jsonObject(with: Fixtures.data("corpus_variants.json")) as? [String: [String: Any]])
        #expect(variants.count >= 2)
        let corpus = try Self.corpus()
        for (name, edits) in variants {
            let tokenizer = try Tokenizer(
                tokenizerJSON: Fixtures.editedTokenizerJSON(edits),
                configJSON: Fixtures.data("tokenizer_config.json"))
            let lines = corpus.filter { $0.variant == name }
            #expect(lines.count >= 1_000, "variant \(name)")
            let failures = try Self.mismatches(lines, tokenizer: tokenizer)
            #expect(
                failures.isEmpty,
                "variant \(name): \(failures.count) of \(lines.count) differ:\n\(failures.prefix(10).joined(separator: "\n"))")
        }
    }

    /// Byte-level BPE is lossless: decoding the ids gives back the text exactly, except where
    /// an added token with lstrip/rstrip ([MASK], <rs>) swallowed whitespace.
    @Test func decodingRoundTripsTheCorpus() throws {
        let tokenizer = try Fixtures.tokenizer()
        var checked = 0
        for line in try Self.corpus() where line.variant == nil {
            // Byte search: `String.contains` compares graphemes and misses "[MASK]" + combining mark.
            let bytes = Array(line.text.utf8)
            if Self.containsBytes(bytes, "[MASK]") || Self.containsBytes(bytes, "<rs>") { continue }
            let ids = tokenizer.encode(line.text, addSpecialTokens: false)
            let decoded = try tokenizer.decode(ids)
            #expect(
                decoded == line.text && Array(decoded.utf8) == Array(line.text.utf8),
                "line \(line.index + 1): \(line.text.debugDescription) -> \(decoded.debugDescription)")
            checked += 1
        }
        #expect(checked > 9_000)
    }

    static func containsBytes(_ haystack: [UInt8], _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard haystack.count >= pattern.count else { return false }
        return (0...(haystack.count - pattern.count)).contains { start in
            haystack[start..<(start + pattern.count)].elementsEqual(pattern)
        }
    }
}
