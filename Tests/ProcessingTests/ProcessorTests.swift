import Foundation
import Imaging
import Processing
import Testing
import Tokenizers

@Suite struct ProcessorTests {
    /// The tiny checkpoint (published layout) carries everything the processor needs.
    @Test func loadsACheckpointDirectory() throws {
        let processor = try Processor(checkpointDirectory: Fixtures.tinyModelDirectory)
        let config =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Fixtures.tinyModelDirectory.appendingPathComponent("config.json"))) as? [String: Any]
        let text = config?["text_config"] as? [String: Any]
        #expect(processor.configuration.imageSeqLen == 4)
        #expect(processor.configuration.maxSequenceLength == text?["max_position_embeddings"] as? Int)
        #expect(processor.imageTokenID == config?["image_token_id"] as? Int)
    }

    /// Without config.json, the tokenizer's model_max_length is the limit.
    @Test func checkpointWithoutModelConfigUsesTokenizerLimit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("processing-tok-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(
                at: Fixtures.tokenizerDirectory.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        let processor = try Processor(checkpointDirectory: directory)
        #expect(processor.configuration.maxSequenceLength == processor.tokenizer.config.modelMaxLength)
        #expect(processor.configuration.maxSequenceLength == 8192)
    }

    @Test func missingConfigurationFilesMeanReferenceDefaults() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("processing-empty-\(UUID())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let configuration = try ProcessorConfiguration(directory: empty)
        #expect(configuration == ProcessorConfiguration())
        #expect(configuration.imageSeqLen == 64 && configuration.maxSequenceLength == nil)

        try Data(#"{"image_seq_len": "many"}"#.utf8).write(to: empty.appendingPathComponent("processor_config.json"))
        #expect(throws: ProcessingError.self) { _ = try ProcessorConfiguration(directory: empty) }
        try Data("not json".utf8).write(to: empty.appendingPathComponent("processor_config.json"))
        #expect(throws: ProcessingError.self) { _ = try ProcessorConfiguration(directory: empty) }
    }

    @Test func queryIsTextPlusTenEndOfUtterance() throws {
        let processor = try Fixtures.processor(geometry: "tiny")
        let tokenizer = processor.tokenizer
        let eou = try #require(tokenizer.tokenID("<end_of_utterance>"))
        let ids = try processor.queryIDs("find the table")
        let body = tokenizer.encode("find the table", addSpecialTokens: false)
        #expect(ids == [tokenizer.tokenID("[CLS]")!] + body + [Int](repeating: eou, count: 10) + [tokenizer.tokenID("[SEP]")!])
    }

    @Test func rejectsBadQueries() throws {
        let processor = try Fixtures.processor(geometry: "tiny")
        #expect(throws: ProcessingError.noInputs) { _ = try processor.queries([]) }
        #expect(throws: ProcessingError.imageTokenInQuery(index: 1)) { _ = try processor.queries(["ok", "see <image>\u{301}"]) }
        var configuration = processor.configuration
        configuration.maxSequenceLength = 20
        let limited = try Processor(tokenizer: processor.tokenizer, configuration: configuration)
        #expect(throws: TokenizerError.self) { _ = try limited.queries(["short", String(repeating: "long words ", count: 10)]) }
        #expect(try limited.queries(["short"]).lengths[0] <= 20)
        #expect(throws: TokenizerError.self) { _ = try limited.imagePrompt(.unsplit(tileSize: 512)) }
    }

    @Test func expansionLayout() throws {
        let processor = try Fixtures.processor(geometry: "tiny")
        let images = String(repeating: "<image>", count: 4)
        let global = "<fake_token_around_image><global-img>" + images + "<fake_token_around_image>"
        #expect(processor.imageExpansion(.unsplit(tileSize: 512)) == global)
        let grid = Fixtures.layout(rows: 2, cols: 1)
        #expect(
            processor.imageExpansion(grid) == "<fake_token_around_image><row_1_col_1>" + images + "\n"
                + "<fake_token_around_image><row_2_col_1>" + images + "\n" + "\n" + global)
        #expect(
            processor.imagePromptText(.unsplit(tileSize: 512)) == "<|begin_of_text|>User:" + global
                + "Describe the image.<end_of_utterance>\nAssistant:")
    }

    @Test func rejectsInvalidGrids() throws {
        let processor = try Fixtures.processor(geometry: "tiny")
        #expect(throws: ProcessingError.invalidGrid(rows: -1, cols: 2)) {
            _ = try processor.imagePrompt(Fixtures.layout(rows: -1, cols: 2))
        }
        #expect(throws: ProcessingError.invalidGrid(rows: 2, cols: 0)) { _ = try processor.imagePrompt(Fixtures.layout(rows: 2, cols: 0)) }
        #expect(throws: ProcessingError.invalidGrid(rows: 1, cols: 1)) {
            _ = try processor.imagePrompt(TileLayout(rows: 1, cols: 1, tileSize: 0))
        }
        #expect(Fixtures.layout(rows: 0, cols: 0) == .unsplit(tileSize: 512))
        #expect(try processor.imagePrompt(Fixtures.layout(rows: 0, cols: 0)).layout == .unsplit(tileSize: 512))
    }

    @Test func requiresThePromptTokens() throws {
        // A tokenizer without the ModernVBert tokens cannot build prompts.
        let tokenizerJSON = try Data(contentsOf: Fixtures.tokenizerDirectory.appendingPathComponent("tokenizer.json"))
        var document = try #require(try JSONSerialization.jsonObject(with: tokenizerJSON) as? [String: Any])
        let added = try #require(document["added_tokens"] as? [[String: Any]])
        document["added_tokens"] = added.filter { ($0["content"] as? String) != "<global-img>" }
        let stripped = try Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: document))
        #expect(throws: ProcessingError.missingToken("<global-img>")) {
            _ = try Processor(tokenizer: stripped, configuration: ProcessorConfiguration())
        }
        var configuration = ProcessorConfiguration()
        configuration.visualPromptPrefix = "no placeholder"
        #expect(throws: ProcessingError.self) {
            _ = try Processor(tokenizer: try Tokenizer(directory: Fixtures.tokenizerDirectory), configuration: configuration)
        }
    }
}
