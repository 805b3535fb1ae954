import Foundation
import Testing

@testable import EmbeddingService

/// The reference Python environment made by scripts/setup.sh.
func referencePython() -> String {
    if let configured = ProcessInfo.processInfo.environment["COLPALI_TEST_PYTHON"], !configured.isEmpty { return configured }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".deps/venv/bin/python").path
}

@Suite struct OpenAPIValidationTests {
    @Test func documentPassesTheOpenAPIValidator() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).json")
        try Data(OpenAPIDocument.json(version: "1.2.3").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: referencePython())
        process.arguments = [
            "-c",
            "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
            file.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "validator: \(text)")
        #expect(text.contains("valid"))
    }

    @Test func versionIsSubstituted() throws {
        let object = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json(version: "7.7").utf8)) as? [String: Any]
        #expect((object?["info"] as? [String: Any])?["version"] as? String == "7.7")
    }
}
