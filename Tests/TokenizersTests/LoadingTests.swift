import Foundation
import Testing
import Tokenizers

/// Components the tokenizer does not implement must be refused at load time, by name.
@Suite struct LoadingTests {
    static func expectUnsupported(_ edits: [String: Any], component: String) throws {
        let data = try Fixtures.editedTokenizerJSON(edits)
        #expect {
            _ = try Tokenizer(tokenizerJSON: data)
        } throws: { error in
            guard case TokenizerError.unsupported(let name, _) = error else { return false }
            return name == component
        }
    }

    @Test func rejectsUnknownNormalizer() throws {
        try Self.expectUnsupported(["normalizer": ["type": "Lowercase"]], component: "normalizer")
        try Self.expectUnsupported(
            ["normalizer": ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Strip"]]]],
            component: "normalizer")
    }

    @Test func rejectsOtherPreTokenizers() throws {
        try Self.expectUnsupported(["pre_tokenizer": ["type": "Whitespace"]], component: "pre_tokenizer")
        try Self.expectUnsupported(["pre_tokenizer": NSNull()], component: "pre_tokenizer")
        try Self.expectUnsupported(
            ["pre_tokenizer": ["type": "Sequence", "pretokenizers": [["type": "Digits"], ["type": "ByteLevel"]]]],
            component: "pre_tokenizer")
    }

    @Test func rejectsOtherModelsAndBPEOptions() throws {
        try Self.expectUnsupported(["model.type": "WordPiece"], component: "model")
        try Self.expectUnsupported(["model.byte_fallback": true], component: "model")
        try Self.expectUnsupported(["model.dropout": 0.1], component: "model")
        try Self.expectUnsupported(["model.continuing_subword_prefix": "##"], component: "model")
    }

    @Test func rejectsOtherPostProcessors() throws {
        try Self.expectUnsupported(["post_processor": ["type": "BertProcessing"]], component: "post_processor")
    }

    @Test func reportsMalformedFiles() throws {
        #expect(throws: TokenizerError.self) { _ = try Tokenizer(tokenizerJSON: Data("{".utf8)) }
        #expect(throws: TokenizerError.self) { _ = try Tokenizer(tokenizerJSON: Data("[]".utf8)) }
        let badMerge = try Fixtures.editedTokenizerJSON(["model.merges": [["Ġ", "no-such-token"]]])
        #expect(throws: TokenizerError.self) { _ = try Tokenizer(tokenizerJSON: badMerge) }
        let missing = URL(fileURLWithPath: "/nonexistent-tokenizer-dir")
        #expect {
            _ = try Tokenizer(directory: missing)
        } throws: { error in
            if case TokenizerError.unreadableFile = error { return true }
            return false
        }
    }

    @Test func readsTheConfiguration() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(tokenizer.config.padToken == "[PAD]")
        #expect(tokenizer.config.paddingSide == .left)
        #expect(tokenizer.config.modelMaxLength == 8192)
        #expect(tokenizer.padTokenID == tokenizer.tokenID("[PAD]"))
        #expect(tokenizer.specialTokenCount == 2)
        let image = try #require(tokenizer.tokenID("<image>"))
        let added = try #require(tokenizer.addedToken(id: image))
        #expect(added.content == "<image>" && added.special && !added.normalized)
        #expect(tokenizer.tokenID("<row_6_col_6>") != nil)
        #expect(tokenizer.tokenID("<row_7_col_1>") == nil)
    }

    /// Added tokens declared only in tokenizer_config.json are still matched (transformers adds them).
    @Test func addsTokensDeclaredOnlyInTheConfig() throws {
        let config = """
            {"pad_token": "[PAD]", "added_tokens_decoder": {"4000": {"content": "<extra>", "lstrip": false,
             "normalized": false, "rstrip": false, "single_word": false, "special": true}}}
            """
        let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.data("tokenizer.json"), configJSON: Data(config.utf8))
        #expect(tokenizer.tokenID("<extra>") == 4000)
        let ids = tokenizer.encode("a<extra>b", addSpecialTokens: false)
        #expect(ids.contains(4000))
        #expect(try tokenizer.decode(ids) == "a<extra>b")
    }

    @Test func rejectsAPadTokenOutsideTheVocabulary() throws {
        #expect(throws: TokenizerError.unknownToken("<nope>")) {
            _ = try Tokenizer(tokenizerJSON: Fixtures.data("tokenizer.json"), configJSON: Data(#"{"pad_token": "<nope>"}"#.utf8))
        }
        #expect(throws: TokenizerError.self) {
            _ = try Tokenizer(tokenizerJSON: Fixtures.data("tokenizer.json"), configJSON: Data(#"{"padding_side": "middle"}"#.utf8))
        }
    }
}
