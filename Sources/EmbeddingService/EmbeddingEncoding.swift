import FastCGI
import Foundation

/// How an embedding matrix is written in a response: JSON float arrays (the default, the
/// old service's shape) or, opt-in, one base64 string of little-endian values with its dtype
/// and shape — `{"dtype": "float32", "shape": [tokens, dim], "data": "..."}`. float32 base64
/// carries exactly the floats the JSON text spells (shortest round-trip text parses back to
/// the same bits); float16 halves the bytes again, rounded to nearest even as numpy does.
public enum EmbeddingEncoding: Sendable, Equatable {
    case json
    case base64(BinaryDType)

    public enum BinaryDType: String, Sendable, Equatable, CaseIterable {
        case float32
        case float16

        var byteWidth: Int { self == .float32 ? 4 : 2 }
    }

    /// From the request's `encoding` and `dtype` values (query parameters or fields); nil
    /// `encoding` is JSON. Errors say which value is wrong and what is accepted.
    public init(encoding: String?, dtype: String?) throws(EncodingChoiceError) {
        switch encoding?.lowercased() {
        case nil, "", "float", "json":
            guard dtype == nil || dtype == "" else { throw .dtypeWithoutBase64(dtype ?? "") }
            self = .json
        case "base64":
            guard let name = dtype, !name.isEmpty else {
                self = .base64(.float32)
                return
            }
            guard let chosen = BinaryDType(rawValue: name.lowercased()) else { throw .unknownDType(name) }
            self = .base64(chosen)
        case let other?:
            throw .unknownEncoding(other)
        }
    }

    /// A generous estimate of the bytes `floats` values take in this encoding (a writer's
    /// starting capacity): up to ~12 characters per JSON float, 4/3 characters per base64 byte.
    public func estimatedBytes(floats: Int) -> Int {
        switch self {
        case .json: floats * 12
        case .base64(let dtype): 64 + (floats * dtype.byteWidth + 2) / 3 * 4
        }
    }

    /// Writes `rows` × `dim` floats (row-major) as this encoding's value.
    public func write(_ values: UnsafeBufferPointer<Float>, rows: Int, dim: Int, into writer: inout JSONWriter) {
        precondition(values.count == rows * dim, "values must hold rows × dim floats")
        switch self {
        case .json:
            writer.floatMatrix(values, columns: dim)
        case .base64(let dtype):
            writer.beginObject()
            writer.key("dtype")
            writer.value(dtype.rawValue)
            writer.key("shape")
            writer.beginArray()
            writer.value(rows)
            writer.value(dim)
            writer.endArray()
            writer.key("data")
            writer.value(Self.base64(values, dtype: dtype))
            writer.endObject()
        }
    }

    /// The values as little-endian bytes of `dtype`, base64-encoded (RFC 4648, padded).
    static func base64(_ values: UnsafeBufferPointer<Float>, dtype: BinaryDType) -> String {
        var bytes = Data(count: values.count * dtype.byteWidth)
        bytes.withUnsafeMutableBytes { raw in
            switch dtype {
            case .float32:
                for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
            case .float16:
                for (i, v) in values.enumerated() {
                    raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: i * 2, as: UInt16.self)
                }
            }
        }
        return bytes.base64EncodedString()
    }
}

/// A request asked for an encoding this service does not write.
public enum EncodingChoiceError: Error, Equatable, CustomStringConvertible {
    case unknownEncoding(String)
    case unknownDType(String)
    case dtypeWithoutBase64(String)

    public var description: String {
        switch self {
        case .unknownEncoding(let name):
            "encoding '\(name.prefix(32))' is not supported: use 'float' (JSON arrays, the default) or 'base64'"
        case .unknownDType(let name):
            "dtype '\(name.prefix(32))' is not supported with base64: use 'float32' (the default) or 'float16'"
        case .dtypeWithoutBase64(let name):
            "dtype '\(name.prefix(32))' needs encoding=base64"
        }
    }
}
