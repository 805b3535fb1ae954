import FastCGI
import Foundation
import Testing

@testable import EmbeddingService

@Suite struct EmbeddingEncodingTests {
    private func written(_ values: [Float], rows: Int, dim: Int, _ encoding: EmbeddingEncoding) -> [String: Any] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("e")
        values.withUnsafeBufferPointer { encoding.write($0, rows: rows, dim: dim, into: &writer) }
        writer.endObject()
        let object = try? JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any]
        return object ?? [:]
    }

    @Test func choiceFromRequestValues() throws {
        #expect(try EmbeddingEncoding(encoding: nil, dtype: nil) == .json)
        #expect(try EmbeddingEncoding(encoding: "float", dtype: nil) == .json)
        #expect(try EmbeddingEncoding(encoding: "base64", dtype: nil) == .base64(.float32))
        #expect(try EmbeddingEncoding(encoding: "BASE64", dtype: "float16") == .base64(.float16))
        #expect(throws: EncodingChoiceError.unknownEncoding("msgpack")) { try EmbeddingEncoding(encoding: "msgpack", dtype: nil) }
        #expect(throws: EncodingChoiceError.unknownDType("int8")) { try EmbeddingEncoding(encoding: "base64", dtype: "int8") }
        #expect(throws: EncodingChoiceError.dtypeWithoutBase64("float16")) { try EmbeddingEncoding(encoding: nil, dtype: "float16") }
    }

    @Test func float32Base64IsBitExactLittleEndian() throws {
        let values: [Float] = [1, -0.5, .pi, 1e-38, -3.4e38, 0.1, 7, -0]
        let object = written(values, rows: 2, dim: 4, .base64(.float32))
        let e = try #require(object["e"] as? [String: Any])
        #expect(e["dtype"] as? String == "float32")
        #expect(e["shape"] as? [Int] == [2, 4])
        let text = try #require(e["data"] as? String)
        let bytes = [UInt8](try #require(Data(base64Encoded: text)))
        #expect(bytes.count == 32)
        var decoded: [UInt32] = []
        for i in 0..<8 {
            let b0 = UInt32(bytes[i * 4])
            let b1 = UInt32(bytes[i * 4 + 1]) << 8
            let b2 = UInt32(bytes[i * 4 + 2]) << 16
            let b3 = UInt32(bytes[i * 4 + 3]) << 24
            decoded.append(b0 | b1 | b2 | b3)
        }
        #expect(decoded == values.map { $0.bitPattern })
        // 1.0f little-endian is 00 00 80 3f.
        #expect(Array(bytes.prefix(4)) == [0x00, 0x00, 0x80, 0x3F])
    }

    @Test func float16RoundsToNearestEven() throws {
        // 1 + 2^-11 is halfway between two float16 values: ties go to the even one (1.0);
        // 1 + 3·2^-11 goes up to 1 + 2^-9.
        let values: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 65504, -2]
        let object = written(values, rows: 1, dim: 4, .base64(.float16))
        let e = try #require(object["e"] as? [String: Any])
        let text = try #require(e["data"] as? String)
        let bytes = [UInt8](try #require(Data(base64Encoded: text)))
        let halves = (0..<4).map { UInt16(bytes[$0 * 2]) | UInt16(bytes[$0 * 2 + 1]) << 8 }
        #expect(halves == [0x3C00, 0x3C02, 0x7BFF, 0xC000])
    }

    /// The writer's starting capacity covers what base64 writes (no regrowth of a large body).
    @Test func estimateCoversTheBase64Value() throws {
        let values = (0..<1000).map { Float($0) * 0.001 }
        for encoding in [EmbeddingEncoding.base64(.float32), .base64(.float16)] {
            var writer = JSONWriter()
            values.withUnsafeBufferPointer { encoding.write($0, rows: 10, dim: 100, into: &writer) }
            #expect(writer.bytes.count <= encoding.estimatedBytes(floats: values.count), "\(encoding)")
            #expect(writer.bytes.count * 2 > encoding.estimatedBytes(floats: values.count), "\(encoding)")
        }
    }

    @Test func jsonIsTheDefaultMatrix() throws {
        let object = written([0.25, 0.5, 1, 2], rows: 2, dim: 2, .json)
        #expect(object["e"] as? [[Double]] == [[0.25, 0.5], [1, 2]])
    }
}
