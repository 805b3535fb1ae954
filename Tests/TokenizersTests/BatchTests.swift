import Foundation
import Testing
import Tokenizers

@Suite struct BatchTests {
    @Test func padsOnTheLeftToTheLongest() throws {
        let tokenizer = try Fixtures.tokenizer()
        let texts = ["a", "hello world, this is longer", ""]
        let batch = try tokenizer.encodeBatch(texts)
        let singles = texts.map { tokenizer.encode($0) }
        let pad = try #require(tokenizer.padTokenID)
        #expect(batch.count == 3)
        #expect(batch.width == singles.map(\.count).max())
        #expect(batch.lengths == singles.map(\.count))
        for (row, single) in singles.enumerated() {
            let padding = batch.width - single.count
            #expect(batch.inputIDs[row] == [Int](repeating: pad, count: padding) + single)
            #expect(batch.attentionMask[row] == [Int](repeating: 0, count: padding) + [Int](repeating: 1, count: single.count))
            #expect(Array(batch.ids(row: row)) == single)
        }
    }

    @Test func padsOnTheRightWhenConfigured() throws {
        let config = #"{"pad_token": "[PAD]", "padding_side": "right"}"#
        let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.data("tokenizer.json"), configJSON: Data(config.utf8))
        let batch = try tokenizer.encodeBatch(["a b c d", "a"])
        let short = tokenizer.encode("a")
        let pad = try #require(tokenizer.padTokenID)
        #expect(batch.inputIDs[1] == short + [Int](repeating: pad, count: batch.width - short.count))
        #expect(batch.attentionMask[1].prefix(short.count).allSatisfy { $0 == 1 })
        #expect(batch.attentionMask[1].dropFirst(short.count).allSatisfy { $0 == 0 })
        #expect(Array(batch.ids(row: 1)) == short)
    }

    @Test func paddingWithoutPadTokenIsAnError() throws {
        let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.data("tokenizer.json"))
        #expect(throws: TokenizerError.missingPadToken) { _ = try tokenizer.encodeBatch(["a", "a b c"]) }
        // Equal lengths need no padding.
        #expect(try tokenizer.encodeBatch(["a", "b"]).width == 3)
    }

    @Test func guardsTheMaximumLength() throws {
        let tokenizer = try Fixtures.tokenizer()
        let text = String(repeating: "word ", count: 40)
        let length = tokenizer.encode(text).count
        #expect(try tokenizer.encodeBatch([text], maxLength: length).lengths == [length])
        #expect(throws: TokenizerError.sequenceTooLong(length: length, limit: length - 1)) {
            _ = try tokenizer.encodeBatch(["short", text], maxLength: length - 1)
        }
    }

    @Test func specialTokensCanBeLeftOut() throws {
        let tokenizer = try Fixtures.tokenizer()
        let with = tokenizer.encode("Describe the image.")
        let without = tokenizer.encode("Describe the image.", addSpecialTokens: false)
        #expect(with == [tokenizer.tokenID("[CLS]")!] + without + [tokenizer.tokenID("[SEP]")!])
    }

    @Test func decodeRejectsUnknownIDsAndCanSkipSpecials() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(throws: TokenizerError.unknownTokenID(999_999)) { _ = try tokenizer.decode([999_999]) }
        let ids = tokenizer.encode("<image>Describe")
        #expect(try tokenizer.decode(ids, skipSpecialTokens: true) == "Describe")
        #expect(try tokenizer.decode(ids) == "[CLS]<image>Describe[SEP]")
    }

    /// The tokenizer is shared by request handlers: concurrent use gives the same ids.
    @Test func concurrentEncodingIsConsistent() async throws {
        let tokenizer = try Fixtures.tokenizer()
        let texts = (0..<200).map { "query number \($0): naïve café 東京 👍🏽 \($0 * 7919)" }
        let expected = texts.map { tokenizer.encode($0) }
        let results = await withTaskGroup(of: (Int, [Int]).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, tokenizer.encode(text)) }
            }
            var out = [[Int]](repeating: [], count: texts.count)
            for await (index, ids) in group { out[index] = ids }
            return out
        }
        #expect(results == expected)
    }
}
