import Foundation
import Glibc

/// An HTTP answer as curl saw it: the status and headers of the last header block (after any
/// 100 Continue), header names lowercased, and the body.
public struct CurlAnswer: Sendable, CustomStringConvertible {
    public let status: Int
    public let headers: [String: String]
    public let body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }

    public var description: String { "HTTP \(status) \(headers["content-type"] ?? "-") \(text.prefix(400))" }
}

public struct CurlFailed: Error, CustomStringConvertible {
    public let url: String
    public let status: String
    public let output: String
    public var description: String { "curl \(url) failed (\(status)): \(output)" }
}

/// Runs `curl -sSk --max-time maxTime ARGUMENTS URL` (TLS verification off: the test
/// certificates are self-signed), bounded by `timeout`, with the body and headers written to
/// scratch files in `scratchDirectory` (removed afterwards). A curl failure (no HTTP answer)
/// throws `CurlFailed`; any HTTP status is an answer. `launcher` runs curl elsewhere
/// (`ip netns exec NS`: inside a test's network namespace).
public func curl(
    _ url: String, _ arguments: [String], scratchDirectory: String, maxTime: Int, timeout: Double,
    searchPath: String = "/usr/local/bin:/usr/bin:/bin", launcher: [String] = []
) async throws -> CurlAnswer {
    let id = UInt32.random(in: 0...UInt32.max)
    let bodyPath = "\(scratchDirectory)/body-\(id)"
    let headerPath = "\(scratchDirectory)/headers-\(id)"
    defer {
        unlink(bodyPath)
        unlink(headerPath)
    }
    let (status, output) = try await ChildProcess.run(
        launcher + ["curl", "-sSk", "--max-time", String(maxTime), "-o", bodyPath, "-D", headerPath] + arguments + [url],
        environment: ["PATH": searchPath], logDirectory: scratchDirectory, timeout: timeout)
    guard status == "exit 0" else { throw CurlFailed(url: url, status: status, output: output) }
    let headerText = (try? String(contentsOfFile: headerPath, encoding: .utf8)) ?? ""
    let block = headerText.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
    var lines = block.components(separatedBy: "\r\n")
    let statusLine = lines.isEmpty ? "" : lines.removeFirst()
    let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    var headers: [String: String] = [:]
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return CurlAnswer(status: code, headers: headers, body: FileManager.default.contents(atPath: bodyPath) ?? Data())
}
