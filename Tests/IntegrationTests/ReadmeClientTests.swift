import Foundation
import ProcessTestSupport
import Testing

/// The README's Python client (issue 13, item 8) is run as written against a live instance with
/// API keys on, and its MaxSim score is checked against one computed here from the default JSON
/// answers: the example's decoding of base64 float16 and its reading of the pooled item agree with
/// the API.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ReadmeClientTests {
    static let key = "readme-example-key-0123456789"

    /// The first ```python block of README.md.
    static func pythonExample() throws -> String {
        let readme = try String(contentsOfFile: "\(Paths.root)/README.md", encoding: .utf8)
        let opening = try #require(readme.range(of: "```python\n"), "README.md has a ```python block")
        let closing = try #require(readme.range(of: "\n```", range: opening.upperBound..<readme.endIndex))
        return String(readme[opening.upperBound..<closing.lowerBound]) + "\n"
    }

    /// Late interaction: for each query token its best page token, summed.
    static func maxSim(_ query: [[Double]], _ page: [[Double]]) -> Double {
        query.reduce(0) { total, q in
            total + page.map { p in zip(q, p).reduce(0) { $0 + $1.0 * $1.1 } }.max()!
        }
    }

    @Test func thePythonExampleRunsAndScoresAsTheAPIDoes() async throws {
        let instance = try await ServiceInstance.started(workers: 1, https: false, overrides: ["COLPALI_API_KEYS": Self.key])
        defer { instance.terminate() }
        let page = Paths.fixture("images/landscape.png")
        let script = instance.directory.file("client.py")
        try Data(try Self.pythonExample().utf8).write(to: URL(fileURLWithPath: script))
        var environment = ProcessInfo.processInfo.environment
        environment["COLPALI_URL"] = instance.http.baseURL
        environment["COLPALI_API_KEY"] = Self.key
        environment["PAGE"] = page
        let (status, output) = try await ChildProcess.run(
            [try Paths.python(), script], environment: environment, logDirectory: instance.directory.path, timeout: 120)
        #expect(status == "exit 0", "\(output)")

        // "query (T, D), page (N, D) (P pooled patch vectors), score S"
        let numbers = output.split(whereSeparator: { !"0123456789.-".contains($0) }).compactMap { Double($0) }
        try #require(numbers.count == 6, "the example's summary line: \(output)")

        let auth = ["-H", "Authorization: Bearer \(Self.key)"]
        var client = instance.http
        client.maxTime = 120
        let queries = try await client.request(
            "/embed/queries", auth + ["-H", "Content-Type: application/json", "--data-binary", #"{"queries": ["revenue 2023"]}"#])
        let images = try await client.request(
            "/embed/images?pool_factor=3", auth + ["-F", FormField.file(name: "files", path: page, type: "image/png").curlArgument])
        let query = try #require(matrix((queries.object?["embeddings"] as? [Any])?.first), "\(queries)")
        let item = try #require((images.object?["embeddings"] as? [[String: Any]])?.first, "\(images)")
        let pageRows = try #require(matrix(item["embedding"]))
        #expect(numbers[0] == Double(query.count) && numbers[1] == Double(query[0].count), "query shape: \(output)")
        #expect(numbers[2] == Double(pageRows.count) && numbers[3] == Double(pageRows[0].count), "page shape: \(output)")
        #expect(numbers[4] == (item["image_patch_len"] as? NSNumber)?.doubleValue, "pooled patch vectors: \(output)")
        // float16 keeps ~3 significant digits per value; the score sums a few hundred products.
        let expected = Self.maxSim(query, pageRows)
        #expect(abs(numbers[5] - expected) < 0.02 * max(1, abs(expected)), "score \(numbers[5]) against \(expected) from JSON floats")
        // Without the key the example fails loudly (raise_for_status), not with a wrong score.
        environment["COLPALI_API_KEY"] = nil
        let (refused, refusedOutput) = try await ChildProcess.run(
            [try Paths.python(), script], environment: environment, logDirectory: instance.directory.path, timeout: 120)
        #expect(refused != "exit 0" && refusedOutput.contains("401"), "\(refusedOutput)")
    }
}
