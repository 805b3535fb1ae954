import Foundation
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// All weights of a model folder: `model.safetensors`, or
/// `model.safetensors.index.json` plus the shards its `weight_map` names.
public final class SafeTensorsCheckpoint: @unchecked Sendable {
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    public let directory: URL
    /// Shard file name → opened file.
    public let files: [String: SafeTensorsFile]
    private let location: [String: SafeTensorsFile]

    public init(directory: URL) throws {
        self.directory = directory
        let indexURL = directory.appendingPathComponent(Self.indexFileName)
        let singleURL = directory.appendingPathComponent(Self.singleFileName)
        if FileManager.default.fileExists(atPath: indexURL.path) {
            let weightMap = try Self.readIndex(indexURL)
            var opened: [String: SafeTensorsFile] = [:]
            var location: [String: SafeTensorsFile] = [:]
            for shard in Set(weightMap.values).sorted() {
                guard !shard.contains("/"), !shard.hasPrefix(".") else {
                    throw SafeTensorsError.malformedIndex(file: indexURL.path, reason: "shard name '\(shard)' leaves the folder")
                }
                opened[shard] = try SafeTensorsFile(path: directory.appendingPathComponent(shard).path)
            }
            for (name, shard) in weightMap {
                guard let file = opened[shard], file.contains(name) else {
                    throw SafeTensorsError.missingTensor(name: name, file: directory.appendingPathComponent(shard).path)
                }
                location[name] = file
            }
            files = opened
            self.location = location
        } else {
            let file = try SafeTensorsFile(path: singleURL.path)
            files = [Self.singleFileName: file]
            location = Dictionary(file.names.map { ($0, file) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Names the checkpoint's content without reading it: for each shard, its resolved path (hub
    /// snapshots link to blobs), size, modification time and inode. A re-download or an edited
    /// file changes it; tensors derived from the checkpoint are keyed by it (`SharedTensorFile`).
    public var identity: String {
        files.keys.sorted().map { name in
            let path = files[name]!.path
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            var info = stat()
            guard stat(resolved, &info) == 0 else { return "\(resolved) ?" }
            return "\(resolved) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)"
        }.joined(separator: "; ")
    }

    /// Every tensor name, sorted.
    public var names: [String] { location.keys.sorted() }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    public func info(_ name: String) throws -> TensorInfo {
        try file(for: name).info(name)
    }

    public func tensor(_ name: String) throws -> Tensor {
        try file(for: name).tensor(name)
    }

    private func file(for name: String) throws -> SafeTensorsFile {
        guard let file = location[name] else {
            throw SafeTensorsError.missingTensor(name: name, file: directory.path)
        }
        return file
    }

    private static func readIndex(_ url: URL) throws -> [String: String] {
        struct Index: Decodable {
            let weightMap: [String: String]
            enum CodingKeys: String, CodingKey { case weightMap = "weight_map" }
        }
        do {
            return try JSONDecoder().decode(Index.self, from: Data(contentsOf: url)).weightMap
        } catch {
            throw SafeTensorsError.malformedIndex(file: url.path, reason: "\(error)")
        }
    }
}
