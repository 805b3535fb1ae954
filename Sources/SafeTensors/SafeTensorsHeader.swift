import Foundation
import Torch

/// Parses and validates the header of a safetensors file:
/// 8-byte little-endian length N, N bytes of JSON, then the data section.
enum SafeTensorsHeader {
    /// Rejects absurd headers before parsing them (the format's reference reader uses 100 MB).
    static let maxHeaderLength: UInt64 = 100_000_000

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws
        -> (tensors: [TensorInfo], metadata: [String: String])
    {
        guard bytes.count >= 8 else { throw SafeTensorsError.truncated(file: file, size: bytes.count) }
        let headerLength = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLength <= UInt64(bytes.count - 8), headerLength <= maxHeaderLength else {
            throw SafeTensorsError.headerTooLong(file: file, headerLength: headerLength, fileSize: bytes.count)
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart

        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(bytes[8..<dataStart]))
        } catch let error as DecodingError {
            throw SafeTensorsError.malformedHeader(file: file, reason: describe(error))
        } catch {
            throw SafeTensorsError.malformedHeader(file: file, reason: "\(error)")
        }

        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(raw.entries.count)
        for (name, entry) in raw.entries {
            tensors.append(try validate(name: name, entry: entry, file: file, dataStart: dataStart, dataSize: dataSize))
        }
        tensors.sort { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        return (tensors, raw.metadata)
    }

    private static func validate(name: String, entry: RawEntry, file: String, dataStart: Int, dataSize: Int) throws
        -> TensorInfo
    {
        guard let dtype = SafeTensorsDType.parse(entry.dtype) else {
            throw SafeTensorsError.unsupportedDType(file: file, tensor: name, dtype: entry.dtype)
        }
        if let negative = entry.shape.first(where: { $0 < 0 }) {
            throw SafeTensorsError.badShape(file: file, tensor: name, reason: "negative dimension \(negative)")
        }
        guard entry.dataOffsets.count == 2 else {
            throw SafeTensorsError.malformedHeader(file: file, reason: "'\(name)': data_offsets must hold [begin, end]")
        }
        let begin = entry.dataOffsets[0]
        let end = entry.dataOffsets[1]
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw SafeTensorsError.offsetsOutOfRange(file: file, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        var expected = dtype.elementSize
        for dim in entry.shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw SafeTensorsError.badShape(file: file, tensor: name, reason: "\(entry.shape) overflows")
            }
            expected = product
        }
        guard expected == end - begin else {
            throw SafeTensorsError.sizeMismatch(file: file, tensor: name, expectedBytes: expected, actualBytes: end - begin)
        }
        return TensorInfo(name: name, dtype: dtype, shape: entry.shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(\.stringValue).joined(separator: ".")
            return keys.isEmpty ? context.debugDescription : "\(keys): \(context.debugDescription)"
        }
        switch error {
        case .dataCorrupted(let context): return "invalid JSON (\(path(context)))"
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)' (\(path(context)))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return path(context)
        @unknown default: return "\(error)"
        }
    }
}

/// The header's JSON: tensor entries plus an optional string-to-string `__metadata__`.
private struct RawHeader: Decodable {
    var entries: [String: RawEntry] = [:]
    var metadata: [String: String] = [:]

    private struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries[key.stringValue] = try container.decode(RawEntry.self, forKey: key)
            }
        }
    }
}

private struct RawEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}
