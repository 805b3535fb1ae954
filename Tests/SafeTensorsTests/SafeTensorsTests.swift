import Foundation
import Testing

@testable import SafeTensors
@testable import Torch

private let fixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/safetensors")

/// Expected values written by scripts/fixtures/make_safetensors_fixtures.py.
private struct Expected: Decodable {
    let shape: [Int]
    let values: [Double]
}

@Suite struct SafeTensorsReadTests {
    @Test func readsEveryDTypeWrittenByPython() throws {
        let file = try SafeTensorsFile(path: fixtures.appendingPathComponent("dtypes.safetensors").path)
        let expected = try JSONDecoder().decode(
            [String: Expected].self, from: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
        #expect(Set(file.names) == Set(expected.keys))
        #expect(file.metadata == ["format": "pt"])
        let dtypes: [String: DType] = [
            "f32": .float32, "f16": .float16, "bf16": .bfloat16, "f64": .float64, "i64": .int64, "i32": .int32,
            "i8": .int8, "u8": .uint8, "bool": .bool, "scalar": .float32, "empty": .float32, "layer.0.weight": .float32,
        ]
        for (name, want) in expected {
            let tensor = try file.tensor(name)
            #expect(tensor.shape == want.shape, "\(name)")
            #expect(tensor.dtype == dtypes[name], "\(name)")
            #expect(try tensor.doubles() == want.values, "\(name)")
        }
    }

    @Test func tensorsShareTheMapping() throws {
        let file = try SafeTensorsFile(path: fixtures.appendingPathComponent("dtypes.safetensors").path)
        let info = try file.info("layer.0.weight")
        let tensor = try file.tensor("layer.0.weight")
        let address = try #require(tensor.withUnsafeBytes { $0.baseAddress } ?? nil)
        let base = try #require(file.mapping.bytes.baseAddress)
        #expect(address == base + info.byteRange.lowerBound)
    }

    @Test func tensorsOutliveTheFileObject() throws {
        var file: SafeTensorsFile? = try SafeTensorsFile(path: fixtures.appendingPathComponent("dtypes.safetensors").path)
        let tensor = try file!.tensor("layer.0.weight")
        file = nil
        #expect(try tensor.sum().item() == 66)
    }

    @Test func readsShardedCheckpoint() throws {
        let checkpoint = try SafeTensorsCheckpoint(directory: fixtures.appendingPathComponent("sharded"))
        #expect(checkpoint.files.count == 3)
        #expect(checkpoint.names == (0..<6).map { "layers.\($0).weight" })
        for i in 0..<6 {
            let t = try checkpoint.tensor("layers.\(i).weight")
            #expect(t.shape == [4, 8])
            #expect(try t.floats().allSatisfy { $0 == Float(i) })
        }
        #expect(
            throws: SafeTensorsError.missingTensor(
                name: "layers.9.weight", file: fixtures.appendingPathComponent("sharded").path)
        ) {
            try checkpoint.tensor("layers.9.weight")
        }
    }

    @Test func readsSingleFileCheckpoint() throws {
        let folder = try temporaryFolder()
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("dtypes.safetensors"),
            to: folder.appendingPathComponent("model.safetensors"))
        let checkpoint = try SafeTensorsCheckpoint(directory: folder)
        #expect(checkpoint.contains("f32"))
        #expect(try checkpoint.info("i32").shape == [2, 2])
    }
}

@Suite struct SafeTensorsCorruptionTests {
    @Test func truncatedBelowHeaderLength() throws {
        let path = try write(Data([1, 2, 3]))
        #expect(throws: SafeTensorsError.truncated(file: path, size: 3)) { try SafeTensorsFile(path: path) }
    }

    @Test func headerLengthPastTheEnd() throws {
        let path = try write(rawHeader: "{}", declaredLength: 1000)
        #expect(throws: SafeTensorsError.headerTooLong(file: path, headerLength: 1000, fileSize: 10)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func malformedJSON() throws {
        for header in [
            "{\"a\": ", "[1, 2]", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}",
        ] {
            let path = try write(rawHeader: header, data: Data(count: 4))
            expectError(path) {
                guard case .malformedHeader(let file, _) = $0 else { return false }
                return file == path
            }
        }
    }

    @Test func offsetsOutsideTheData() throws {
        let path = try write(rawHeader: #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: Data(count: 4))
        #expect(throws: SafeTensorsError.offsetsOutOfRange(file: path, tensor: "w", begin: 0, end: 8, dataSize: 4)) {
            try SafeTensorsFile(path: path)
        }
        let reversed = try write(rawHeader: #"{"w": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}}"#, data: Data(count: 4))
        expectError(reversed) { if case .offsetsOutOfRange(_, "w", 4, 0, _) = $0 { true } else { false } }
    }

    @Test func unknownDType() throws {
        let path = try write(rawHeader: #"{"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 1]}}"#, data: Data(count: 1))
        #expect(throws: SafeTensorsError.unsupportedDType(file: path, tensor: "w", dtype: "Q7")) {
            try SafeTensorsFile(path: path)
        }
        let float8 = fixtures.appendingPathComponent("unsupported.safetensors").path
        #expect(throws: SafeTensorsError.unsupportedDType(file: float8, tensor: "x", dtype: "F8_E4M3")) {
            try SafeTensorsFile(path: float8)
        }
    }

    @Test func shapeAndSizeDisagree() throws {
        let path = try write(rawHeader: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: Data(count: 8))
        #expect(throws: SafeTensorsError.sizeMismatch(file: path, tensor: "w", expectedBytes: 12, actualBytes: 8)) {
            try SafeTensorsFile(path: path)
        }
        let negative = try write(rawHeader: #"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, data: Data(count: 4))
        expectError(negative) { if case .badShape(_, "w", _) = $0 { true } else { false } }
        let huge = try write(
            rawHeader: #"{"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 4]}}"#, data: Data(count: 4))
        expectError(huge) { if case .badShape(_, "w", _) = $0 { true } else { false } }
    }

    @Test func truncatedDownloadOfARealFile() throws {
        let whole = try Data(contentsOf: fixtures.appendingPathComponent("dtypes.safetensors"))
        let path = try write(whole.prefix(whole.count - 10))
        expectError(path) {
            if case .offsetsOutOfRange(let file, _, _, _, _) = $0 { file == path } else { false }
        }
    }

    @Test func missingFileAndMissingTensor() throws {
        expectError("/nonexistent/model.safetensors") { if case .cannotOpen = $0 { true } else { false } }
        let file = try SafeTensorsFile(path: fixtures.appendingPathComponent("dtypes.safetensors").path)
        #expect(throws: SafeTensorsError.missingTensor(name: "nope", file: file.path)) { try file.tensor("nope") }
    }

    @Test func indexNamingAMissingTensorOrShard() throws {
        let folder = try temporaryFolder()
        let shard = fixtures.appendingPathComponent("sharded/model-00001-of-00003.safetensors")
        try FileManager.default.copyItem(at: shard, to: folder.appendingPathComponent("a.safetensors"))
        let index = #"{"weight_map": {"layers.0.weight": "a.safetensors", "ghost": "a.safetensors"}}"#
        try Data(index.utf8).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        #expect(throws: SafeTensorsError.missingTensor(name: "ghost", file: folder.appendingPathComponent("a.safetensors").path)) {
            try SafeTensorsCheckpoint(directory: folder)
        }
        let escape = #"{"weight_map": {"x": "../a.safetensors"}}"#
        try Data(escape.utf8).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsCheckpoint(directory: folder) }
        try Data("not json".utf8).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsCheckpoint(directory: folder) }
    }

    @Test func errorMessagesNameFileAndTensor() {
        let message = SafeTensorsError.sizeMismatch(file: "/m/model.safetensors", tensor: "w", expectedBytes: 12, actualBytes: 8)
            .description
        #expect(message.contains("/m/model.safetensors"))
        #expect(message.contains("'w'"))
    }
}

// MARK: - helpers

private func expectError(
    _ path: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ matches: (SafeTensorsError) -> Bool
) {
    do {
        _ = try SafeTensorsFile(path: path)
        Issue.record("opening \(path) did not fail", sourceLocation: sourceLocation)
    } catch let error as SafeTensorsError {
        #expect(matches(error), "unexpected error \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
    }
}

private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func write(_ data: Data) throws -> String {
    let url = try temporaryFolder().appendingPathComponent("model.safetensors")
    try data.write(to: url)
    return url.path
}

private func write(rawHeader: String, declaredLength: UInt64? = nil, data: Data = Data()) throws -> String {
    let header = Data(rawHeader.utf8)
    var length = (declaredLength ?? UInt64(header.count)).littleEndian
    var bytes = Data(bytes: &length, count: 8)
    bytes.append(header)
    bytes.append(data)
    return try write(bytes)
}
