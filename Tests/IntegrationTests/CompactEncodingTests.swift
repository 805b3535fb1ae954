import Foundation
import Testing

/// The opt-in response options (issue 13) through nginx with the tiny model: base64 float32
/// carries exactly the JSON floats, and pool_factor pools only the image-patch vectors.
@Suite(.timeLimit(.minutes(3)))
struct CompactEncodingTests {
    @Test func base64AndPoolingThroughNginx() async throws {
        let reference = try Reference.load()
        let image = reference.images[0]
        let service = try await ServiceInstance.started(workers: 1)
        defer { service.terminate() }
        let https = service.https
        let file: [FormField] = [.file(name: "files", path: image.path, type: image.content_type)]

        let plain = try await https.postForm("/embed/images", file)
        #expect(plain.status == 200, "\(plain)")
        let plainItem = try #require((plain.object?["embeddings"] as? [[String: Any]])?.first)
        let rows = try #require(matrix(plainItem["embedding"]))
        let floats = rows.flatMap { $0.map(Float.init) }

        // Query parameter and form field give the same bytes.
        for (path, fields) in [
            ("/embed/images?encoding=base64", file), ("/embed/images", file + [.text(name: "encoding", value: "base64")]),
        ] {
            let answer = try await https.postForm(path, fields)
            #expect(answer.status == 200, "\(answer)")
            let item = try #require((answer.object?["embeddings"] as? [[String: Any]])?.first)
            let encoded = try #require(item["embedding"] as? [String: Any])
            #expect(encoded["dtype"] as? String == "float32")
            #expect(encoded["shape"] as? [Int] == [rows.count, rows[0].count])
            let text = try #require(encoded["data"] as? String)
            let bytes = [UInt8](try #require(Data(base64Encoded: text)))
            let decoded = stride(from: 0, to: bytes.count, by: 4).map { i in
                (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * $1) }
            }
            #expect(decoded == floats.map(\.bitPattern))
            #expect(answer.body.count * 2 < plain.body.count, "base64 \(answer.body.count) bytes, JSON \(plain.body.count)")
        }

        // Pooled by 3: max(n // 3, 1) unit vectors after the leading text rows; every text row kept.
        let patches = image.image_patch_indices
        let pooled = try await https.postForm("/embed/images?pool_factor=3", file)
        #expect(pooled.status == 200, "\(pooled)")
        let item = try #require((pooled.object?["embeddings"] as? [[String: Any]])?.first)
        let count = max(patches.count / 3, 1)
        let start = try #require(patches.first)
        #expect(item["pool_factor"] as? Int == 3)
        #expect(item["image_patch_len"] as? Int == count)
        #expect(item["image_patch_start"] as? Int == start)
        #expect(item["image_patch_indices"] as? [Int] == Array(start..<(start + count)))
        let pooledRows = try #require(matrix(item["embedding"]))
        let textRows = rows.indices.filter { !Set(patches).contains($0) }.map { rows[$0] }
        #expect(pooledRows.count == textRows.count + count)
        #expect(Array(pooledRows[..<start]) + Array(pooledRows[(start + count)...]) == textRows)
        for row in pooledRows[start..<(start + count)] {
            #expect(Swift.abs(row.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-5)
        }

        let bad = try await https.postForm("/embed/images?pool_factor=0", file)
        #expect(bad.status == 400 && bad.detail?.hasPrefix("pool_factor") == true, "\(bad)")
        let queries = try await https.postJSON("/embed/queries", object: ["queries": "hello", "encoding": "base64", "dtype": "float16"])
        let encodedQuery = try #require((queries.object?["embeddings"] as? [[String: Any]])?.first, "\(queries)")
        #expect(encodedQuery["dtype"] as? String == "float16")
    }
}
