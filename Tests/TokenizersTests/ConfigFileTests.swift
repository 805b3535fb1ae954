import Foundation
import Testing
import Tokenizers

/// tokenizer_config.json through its typed view: defaults for absent keys, errors naming the field.
@Suite struct TokenizerConfigFileTests {
    @Test func absentKeysTakeTransformersDefaults() throws {
        let config = try TokenizerConfig(json: Data("{}".utf8))
        #expect(config == TokenizerConfig())
        #expect(config.padToken == nil && config.paddingSide == .right && config.modelMaxLength == nil)
    }

    @Test func padTokenAsObjectAndNoLimit() throws {
        let config = try TokenizerConfig(
            json: Data(#"{"pad_token": {"content": "[PAD]", "lstrip": false}, "model_max_length": 1000000000000000019884624838656}"#.utf8))
        #expect(config.padToken == "[PAD]")
        #expect(config.modelMaxLength == nil)
    }

    @Test(arguments: [
        (#"{"padding_side": 3}"#, "padding_side"),
        (#"{"model_max_length": "long"}"#, "model_max_length"),
        (#"{"added_tokens_decoder": {"7": {"content": "<x>", "special": "yes"}}}"#, "added_tokens_decoder.7.special"),
        (#"{"added_tokens_decoder": {"7": {"special": true}}}"#, "added_tokens_decoder.7.content"),
    ])
    func wrongTypesNameTheFileAndField(json: String, field: String) {
        do {
            _ = try TokenizerConfig(json: Data(json.utf8))
            Issue.record("accepted \(json)")
        } catch let TokenizerError.invalidJSON(file, reason) {
            #expect(file == "tokenizer_config.json")
            #expect(reason.hasPrefix(field + ":"), "\(reason)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func notJSONIsAnError() {
        #expect(throws: TokenizerError.self) { _ = try TokenizerConfig(json: Data("{".utf8)) }
        #expect(throws: TokenizerError.self) { _ = try TokenizerConfig(json: Data("[1]".utf8)) }
    }
}
