import Torch

/// A memory-mapped `.safetensors` file.
///
/// Opening validates the whole header (offsets, sizes, dtypes) up front, so a later
/// `tensor(_:)` cannot read outside the file. Tensors wrap the mapping without a copy
/// when the data is suitably aligned; the mapping lives as long as any of them.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let metadata: [String: String]
    let mapping: MappedFile
    private let entries: [String: TensorInfo]
    /// Tensor names in file order.
    public let names: [String]

    public init(path: String) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        let header = try SafeTensorsHeader.parse(mapping.bytes, file: path)
        metadata = header.metadata
        names = header.tensors.map(\.name)
        entries = Dictionary(header.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    public func info(_ name: String) throws -> TensorInfo {
        guard let info = entries[name] else { throw SafeTensorsError.missingTensor(name: name, file: path) }
        return info
    }

    /// The tensor on the CPU, sharing the file's memory when its start is aligned to the
    /// element size (always, for files written by the `safetensors` package), else copied.
    public func tensor(_ name: String) throws -> Tensor {
        let info = try info(name)
        let bytes = UnsafeRawBufferPointer(rebasing: mapping.bytes[info.byteRange])
        guard let start = bytes.baseAddress, !bytes.isEmpty else {
            return try Tensor.zeros(info.shape, dtype: info.dtype)
        }
        if Int(bitPattern: start) % max(info.dtype.elementSize, 1) == 0 {
            return try Tensor.fromBlob(start, shape: info.shape, dtype: info.dtype, owner: mapping)
        }
        return try Tensor(bytes: bytes, shape: info.shape, dtype: info.dtype)
    }
}
