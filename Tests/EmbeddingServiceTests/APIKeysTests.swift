import Foundation
import Testing

@testable import EmbeddingService

@Suite struct APIKeysTests {
    @Test func readsListAndFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "apikeys-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("keys")
        try "# service keys\n\nfile-key-0000000001\n   file-key-0000000002  \n# old: revoked\n".write(
            to: file, atomically: true, encoding: .utf8)
        let keys = try APIKeys.fromEnvironment([
            "COLPALI_API_KEYS": " list-key-000000001, ,list-key-000000002", "COLPALI_API_KEYS_FILE": file.path,
        ])
        #expect(keys.count == 4)
        for key in ["list-key-000000001", "list-key-000000002", "file-key-0000000001", "file-key-0000000002"] {
            #expect(keys.accepts(authorization: "Bearer \(key)"), "\(key)")
        }
        #expect(!keys.accepts(authorization: "Bearer # old: revoked"))
        #expect(!keys.accepts(authorization: nil))
        #expect(try APIKeys.fromEnvironment([:]).isEnabled == false)
        #expect(try APIKeys.fromEnvironment(["COLPALI_API_KEYS": " , "]).isEnabled == false)
    }

    @Test func errorsNameTheSourceNeverTheKey() throws {
        let secret = "short-secret"
        #expect(throws: APIKeysError(source: "COLPALI_API_KEYS", position: "entry 2", problem: "is shorter than 16 characters")) {
            try APIKeys.fromEnvironment(["COLPALI_API_KEYS": "fine-key-00000000001,\(secret)"])
        }
        do {
            _ = try APIKeys.fromEnvironment(["COLPALI_API_KEYS_FILE": "/nonexistent/keys"])
            Issue.record("accepted a missing file")
        } catch {
            #expect(error.description == "COLPALI_API_KEYS_FILE: /nonexistent/keys cannot be read as UTF-8 text")
        }
        do {
            _ = try APIKeys.parseFile("ok-key-000000000001\nbad key with spaces 123\n", source: "F")
            Issue.record("accepted a key with spaces")
        } catch {
            #expect(error.description == "F: line 2 holds a space, comma or non-printable character")
            #expect(!error.description.contains("bad key"))
        }
        #expect(!"\(APIKeys(["visible-key-0000000001"]))".contains("visible"))
        // A configuration error names the variable only.
        #expect(throws: APIKeysError.self) { try ServiceConfiguration.fromEnvironment(["COLPALI_API_KEYS": secret]) }
        let config = try ServiceConfiguration.fromEnvironment(["COLPALI_API_KEYS": "cfg-key-000000000001", "COLPALI_MAX_QUERY_BYTES": "4k"])
        #expect(config.apiKeys.accepts(authorization: "Bearer cfg-key-000000000001"))
        #expect(config.maxQueryBytes == 4096)
    }

    @Test func comparisonIsExactAndBranchFree() {
        let key = Array("abcdefghijklmnop".utf8)
        #expect(APIKeys.constantTimeEqual(key, key) == 1)
        #expect(APIKeys.constantTimeEqual(Array("abcdefghijklmnoq".utf8), key) == 0)
        #expect(APIKeys.constantTimeEqual(Array("abcdefghijklmno".utf8), key) == 0)
        #expect(APIKeys.constantTimeEqual(Array("abcdefghijklmnopabcdefghijklmnop".utf8), key) == 0)
        #expect(APIKeys.constantTimeEqual([], key) == 0)
        #expect(APIKeys.bearerToken("Bearer  tok ") == "tok")
        #expect(APIKeys.bearerToken("Token tok") == nil)
    }
}
