import Foundation
import SafeTensors
import Testing
import Torch

@testable import ColModernVBert

/// Every published checkpoint layout, on disk as the hub serves it (Tests/Fixtures/layouts, made by
/// scripts/fixtures/make_layout_fixtures.py from the tiny reference checkpoint), loads through
/// `ColModernVBertModel.load(directory:)` and gives the reference's embeddings.
@Suite struct CheckpointLayoutTests {
    static let layouts = Fixtures.root.appendingPathComponent("Tests/Fixtures/layouts")
    static let names = ["legacy-merged", "merged-flat", "retrieval"]

    static func folder(_ name: String) -> URL {
        name == "tiny-model" ? Fixtures.tinyModel : layouts.appendingPathComponent(name)
    }

    static func load(_ folder: URL) throws -> ColModernVBertModel {
        try ColModernVBertModel.load(directory: folder, options: ModelOptions(device: .cpu, dtype: .float32))
    }

    /// Queries and an image prompt against the reference vectors.
    static func expectReferenceEmbeddings(_ model: ColModernVBertModel, _ label: String) throws {
        let queries = try FixtureCase(file: Fixtures.file("queries.safetensors"), name: "queries_left_padded")
        let output = try model.embedQueries(inputIds: queries.inputIds, attentionMask: queries.attentionMask)
        for index in 0..<queries.batchSize {
            let difference = maxAbsDifference(output[index].rows, try queries.item(index).reference)
            #expect(difference <= fidelityTolerance, "\(label) query \(index): max abs difference \(difference)")
        }
        let file = try Fixtures.file("images.safetensors")
        let name = "image_many_tiles"
        let description = try #require(try Fixtures.cases.get().image_cases[name])
        let image = try FixtureCase(file: file, name: name)
        let images = try model.embedImages(
            inputIds: image.inputIds, attentionMask: image.attentionMask, pixelValues: pixelValues(for: description.pixels, in: file))
        let difference = maxAbsDifference(images[0].rows, try image.item(0).reference)
        #expect(difference <= fidelityTolerance, "\(label) image: max abs difference \(difference)")
    }

    @Test(arguments: names)
    func layoutLoadsFromDiskWithTheReferenceEmbeddings(_ name: String) throws {
        try Self.expectReferenceEmbeddings(try Self.load(Self.folder(name)), name)
    }

    @Test(arguments: names)
    func layoutDescribesTheTinyArchitecture(_ name: String) throws {
        let tiny = try ModelConfig.load(directory: Fixtures.tinyModel)
        var config = try ModelConfig.load(directory: Self.folder(name))
        // Only the nested formats state the projection size.
        #expect(config.embeddingDim == (name == "merged-flat" ? nil : 16))
        config.embeddingDim = nil
        #expect(config == tiny)
    }

    @Test func legacyCheckpointKeepsItsSplitTokenTable() throws {
        let names = try SafeTensorsNames.of(Self.folder("legacy-merged"))
        #expect(names.contains("model.text_model.embeddings.tok_embeddings.additional_embedding.weight"))
        #expect(names.contains("model.connector.modality_projection.proj.weight"))
        #expect(names.contains("model.vision_model.post_layernorm.weight"))
        let flat = try SafeTensorsNames.of(Self.folder("merged-flat"))
        #expect(flat.contains("model.vision_model.vision_model.post_layernorm.weight"))
        #expect(!flat.contains { $0.contains("additional_embedding") })
    }

    @Test func errorsNameTheLayoutFound() throws {
        let expected = [
            "legacy-merged": "colmodernvbert-merged (colpali-engine)",
            "merged-flat": "colmodernvbert-merged (transformers 5)",
            "retrieval": "transformers ColModernVBertForRetrieval",
            "tiny-model": "published colmodernvbert-merged",
        ]
        for (name, layout) in expected {
            #expect(WeightNames.describeLayout(Array(try SafeTensorsNames.of(Self.folder(name)))) == layout, "\(name)")
        }
    }

    /// `COLPALI_MODEL_REVISION` pinned to a legacy commit resolves to a snapshot folder of the hub
    /// cache, whose files are symlinks into `blobs/`: such a folder loads.
    @Test func legacyRevisionSnapshotFolderLoads() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("colmodernvbert-hub-\(UUID())")
        defer { try? FileManager.default.removeItem(at: cache) }
        let repo = cache.appendingPathComponent("models--ModernVBERT--colmodernvbert-merged")
        let commit = String(repeating: "a1", count: 20)
        let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
        let blobs = repo.appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        for (index, name) in ["config.json", "model.safetensors"].enumerated() {
            let blob = blobs.appendingPathComponent("blob\(index)")
            try FileManager.default.copyItem(at: Self.folder("legacy-merged").appendingPathComponent(name), to: blob)
            try FileManager.default.createSymbolicLink(
                atPath: snapshot.appendingPathComponent(name).path, withDestinationPath: "../../blobs/blob\(index)")
        }
        try Self.expectReferenceEmbeddings(try Self.load(snapshot), "legacy snapshot")
    }

    @Test func adapterRepositoryNamesTheMergedOne() throws {
        let folder = Self.folder("adapter")
        do {
            _ = try Self.load(folder)
            Issue.record("loaded an adapter folder")
        } catch let error as ColModernVBertError {
            #expect(
                error
                    == .adapterCheckpoint(
                        directory: folder.path, baseModel: "ModernVBERT/modernvbert", use: "ModernVBERT/colmodernvbert-merged"))
            #expect(error.description.contains("use ModernVBERT/colmodernvbert-merged"))
        }
    }
}

/// Tensor names of a folder's model.safetensors.
enum SafeTensorsNames {
    static func of(_ folder: URL) throws -> Set<String> {
        Set(try SafeTensorsFile(path: folder.appendingPathComponent("model.safetensors").path).names)
    }
}
