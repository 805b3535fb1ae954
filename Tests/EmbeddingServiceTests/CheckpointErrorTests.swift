import ColModernVBert
import FastCGI
import Foundation
import Processing
import Testing
import Tokenizers

@testable import EmbeddingService

/// A broken checkpoint is never answered as bad input: only the client's mistakes become
/// `InputError` (400); tokenizer or processor faults of the checkpoint are `ModelEngineError`.
@Suite struct CheckpointErrorTests {
    @Test func onlyTooLongInputIsTheClients() {
        #expect(ModelEngine.classify(TokenizerError.sequenceTooLong(length: 9, limit: 8), item: "query 0") is InputError)
        for error in [TokenizerError.unknownToken("[UNK]"), .missingPadToken, .unknownTokenID(3)] {
            #expect(ModelEngine.classify(error, item: "query 0") is ModelEngineError, "\(error)")
        }
    }

    @Test func processorFaultsOfTheCheckpointAreNotInputErrors() {
        #expect(ModelEngine.classify(ProcessingError.imageTokenInQuery(index: 0), item: "query 0") is InputError)
        #expect(ModelEngine.classify(ProcessingError.noInputs, item: "query 0") is InputError)
        #expect(ModelEngine.classify(ProcessingError.missingToken("<image>"), item: "query 0") is ModelEngineError)
        #expect(
            ModelEngine.classify(ProcessingError.invalidConfiguration(file: "processor_config.json", reason: "x"), item: "query 0")
                is ModelEngineError)
    }

    /// What the routes answer for an engine that fails with a checkpoint fault: not 400.
    @Test func routesDoNotAnswerCheckpointFaultsWith400() {
        struct BrokenEngine: EmbeddingEngine {
            var info = EngineInfo(
                modelID: "org/model", device: "cpu", dtype: "torch.float32", flashAttention: false, dim: 2, imageTokenID: 7,
                imageSeqLen: 4)
            func embedQueries(_ queries: [String]) throws -> [TokenVectors] {
                throw ModelEngineError.inconsistentCheckpoint("query 0: token [UNK] is not in the vocabulary")
            }
            func embedImages(_ images: [[UInt8]]) throws -> [ImageEmbedding] { [] }
            func patchGrid(width: Int, height: Int) -> PatchesResult { .failure("none") }
        }
        let router = Routes(
            state: ServiceState(.ready(BrokenEngine())), limits: RequestLimits(maxQueries: 4, maxImages: 2, maxBodyBytes: 1 << 20),
            apiVersion: "9.9", swaggerUIDirectory: nil
        ).router()
        var headers = HTTPHeaders()
        headers.set("content-type", "application/json")
        let response = router.handle(
            HTTPRequest(method: .post, path: "/embed/queries", headers: headers, body: Array(#"{"queries": ["a"]}"#.utf8)))
        #expect(response.status != 400)
        #expect(response.status >= 500)
    }
}
