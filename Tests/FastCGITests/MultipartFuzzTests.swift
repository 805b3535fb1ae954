import Testing

@testable import FastCGI

/// Hostile or random bodies: the parser returns parts or a `MultipartError`, never traps,
/// and what it returns is consistent with the input.
@Suite struct MultipartFuzzTests {
    /// Random parts with binary data survive encode → parse unchanged.
    @Test func randomFormsRoundTrip() throws {
        var generator = SeededGenerator(seed: 2024)
        for round in 0..<300 {
            let boundary = "----b\(round)x\(UInt32.random(in: 0...UInt32.max, using: &generator))"
            var expected: [(String, String?, [UInt8])] = []
            var body: [UInt8] = []
            for index in 0..<Int.random(in: 0...5, using: &generator) {
                let data = (0..<Int.random(in: 0...300, using: &generator)).map { _ in
                    // Bias toward CR, LF and '-' so delimiter look-alikes appear in the data.
                    [13, 10, 45, UInt8.random(in: 0...255, using: &generator)].randomElement(using: &generator)!
                }
                let filename: String? = Bool.random(using: &generator) ? "f\(index).bin" : nil
                let name = "n\(index)"
                expected.append((name, filename, data))
                var headers = "Content-Disposition: form-data; name=\"\(name)\""
                if let filename { headers += "; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream" }
                body += Array("--\(boundary)\r\n\(headers)\r\n\r\n".utf8) + data + Array("\r\n".utf8)
            }
            body += Array("--\(boundary)--\r\n".utf8)
            let parts = try MultipartParser().parse(body, boundary: Array(boundary.utf8))
            #expect(parts.count == expected.count)
            for (part, want) in zip(parts, expected) {
                #expect(part.name == want.0 && part.filename == want.1 && Array(part.data) == want.2)
            }
        }
    }

    /// Mutations of a valid body (byte flips, cuts, duplications) and pure noise.
    @Test func mutatedAndRandomBodiesNeverCrash() {
        var generator = SeededGenerator(seed: 77)
        let seed = MultipartParserTests.body(
            "XyZ",
            parts: [
                (#"Content-Disposition: form-data; name="query""#, Array("hello".utf8)),
                (
                    "Content-Disposition: form-data; name=\"image\"; filename*=UTF-8''%C3%A9.png\r\nContent-Type: image/png",
                    Array(repeating: 13, count: 40)
                ),
            ], preamble: "pre", epilogue: "post")
        let alphabet: [UInt8] = Array("-\r\n XyZ:;=\"\\abc".utf8) + [0, 0xFF, 0xC3]
        let limits = MultipartLimits(maxParts: 8, maxHeaderBytes: 64, maxFieldBytes: 32)
        var outcomes = (parsed: 0, refused: 0)
        for _ in 0..<20_000 {
            var body = seed
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:
                for _ in 0..<Int.random(in: 1...6, using: &generator) {
                    body[Int.random(in: 0..<body.count, using: &generator)] = alphabet.randomElement(using: &generator)!
                }
            case 1:
                body = Array(body.prefix(Int.random(in: 0...body.count, using: &generator)))
            case 2:
                let start = Int.random(in: 0..<body.count, using: &generator)
                let end = min(body.count, start + Int.random(in: 1...40, using: &generator))
                body.insert(contentsOf: body[start..<end], at: Int.random(in: 0...body.count, using: &generator))
            default:
                body = (0..<Int.random(in: 0...200, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            }
            do {
                let parts = try MultipartParser(limits: limits).parse(body, boundary: Array("XyZ".utf8))
                outcomes.parsed += 1
                #expect(parts.count <= limits.maxParts)
                for part in parts {
                    #expect(part.data.startIndex >= 0 && part.data.endIndex <= body.count)
                    if !part.isFile { #expect(part.data.count <= limits.maxFieldBytes) }
                }
            } catch {
                outcomes.refused += 1
                #expect(!error.message.isEmpty)
            }
        }
        // Both outcomes occur, so the mutations really exercise the error paths.
        #expect(outcomes.parsed > 100 && outcomes.refused > 100)
    }
}
