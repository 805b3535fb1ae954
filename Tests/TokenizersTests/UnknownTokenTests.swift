import Foundation
import Testing
import Tokenizers

/// A BPE whose vocabulary lacks some bytes. Expected ids were produced by the Python
/// `tokenizers` package (0.23) from the same JSON: missing symbols become [UNK] (fused when
/// fuse_unk), or are silently dropped when there is no unknown token.
@Suite struct UnknownTokenTests {
    static func tokenizer(unk: String?, fuse: Bool) throws -> Tokenizer {
        let model: [String: Any] = [
            "type": "BPE", "dropout": NSNull(), "unk_token": unk.map { $0 as Any } ?? NSNull(),
            "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(), "fuse_unk": fuse,
            "byte_fallback": false, "ignore_merges": false,
            "vocab": ["a": 0, "b": 1, "ab": 2, "[UNK]": 3, "Ġ": 4, "Ġa": 5],
            "merges": [["a", "b"], ["Ġ", "a"]],
        ]
        let document: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": [Any](),
            "normalizer": NSNull(), "post_processor": NSNull(), "decoder": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "model": model,
        ]
        return try Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: document))
    }

    @Test func unknownSymbolsBecomeTheUnknownToken() throws {
        let tokenizer = try Self.tokenizer(unk: "[UNK]", fuse: false)
        #expect(tokenizer.encode("abccab") == [2, 3, 3, 2])
        #expect(tokenizer.encode("ab a") == [2, 5])
        #expect(tokenizer.encode("xyz") == [3, 3, 3])
        #expect(tokenizer.encode("a😀b") == [0, 3, 3, 3, 3, 1])
    }

    @Test func fusedUnknownSymbols() throws {
        let tokenizer = try Self.tokenizer(unk: "[UNK]", fuse: true)
        #expect(tokenizer.encode("abccab") == [2, 3, 2])
        #expect(tokenizer.encode("xyz") == [3])
        #expect(tokenizer.encode("a😀b") == [0, 3, 1])
    }

    @Test func withoutUnknownTokenSymbolsAreDropped() throws {
        let tokenizer = try Self.tokenizer(unk: nil, fuse: false)
        #expect(tokenizer.encode("abccab") == [2, 2])
        #expect(tokenizer.encode("xyz") == [])
        #expect(tokenizer.encode("a😀b") == [0, 1])
    }
}
