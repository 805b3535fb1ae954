import FastCGI
import Foundation
import Testing

@testable import EmbeddingService

/// `ModelEngine` on the tiny checkpoint with a request the web server has abandoned: nothing is
/// computed, the token says what was skipped, and the engine serves the next request normally.
@Suite struct EngineCancellationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func engine() throws -> ModelEngine {
        var config = try ServiceConfiguration.fromEnvironment(["COLPALI_DEVICE": "cpu", "COLPALI_DTYPE": "float32"])
        config.cpuThreads = 1
        return try ModelEngine(directory: fixtures.appendingPathComponent("tiny-model"), modelID: "tiny", configuration: config)
    }

    @Test func abandonedImagesAreNotDecodedAndAbandonedQueriesLeaveTheQueue() throws {
        let engine = try Self.engine()
        let page = try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent("images/sources/size_page_850x1100.jpg")))

        let gone = RequestCancellation()
        gone.cancel(reason: "test")
        do {
            _ = try engine.embedImages([page, page, page], cancellation: gone)
            Issue.record("an abandoned image request was computed")
        } catch let error as HTTPError {
            #expect(error.status == 499)
        }
        #expect(gone.skipped == ["3 of 3 images not decoded, none embedded"])

        // Queries are tokenized, then dropped by the batcher before any forward pass.
        let goneQuery = RequestCancellation()
        goneQuery.cancel(reason: "test")
        do {
            _ = try engine.embedQueries(["revenue 2023", "q2"], cancellation: goneQuery)
            Issue.record("an abandoned query request was computed")
        } catch let error as HTTPError {
            #expect(error.status == 499)
        }
        #expect(goneQuery.skipped == ["2 queries dropped from the queue before their forward pass"])

        // A live request afterwards is served in full.
        let live = RequestCancellation()
        #expect(try engine.embedImages([page], cancellation: live).count == 1)
        #expect(try engine.embedQueries(["revenue 2023"], cancellation: live).count == 1)
        #expect(live.skipped.isEmpty)
    }
}
