import Foundation
import ProcessTestSupport
import Testing

/// An HTTP answer as curl saw it.
struct HTTPAnswer: Sendable, CustomStringConvertible {
    let status: Int
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    var object: [String: Any]? { json as? [String: Any] }
    /// FastAPI's `{"detail": "..."}`.
    var detail: String? { object?["detail"] as? String }
    /// FastAPI's 422 `{"detail": [{"loc", "msg", "type"}]}`.
    var validationIssues: [[String: Any]]? { object?["detail"] as? [[String: Any]] }

    var description: String { "HTTP \(status) \(headers["content-type"] ?? "-") \(text.prefix(400))" }
}

/// One part of a multipart/form-data body, as curl's `-F` spells it.
enum FormField {
    /// A file part: path on disk, Content-Type, and the filename to send (default: the path's).
    case file(name: String, path: String, type: String, filename: String? = nil)
    case text(name: String, value: String)

    var curlArgument: String {
        switch self {
        case .file(let name, let path, let type, let filename):
            return "\(name)=@\(path);type=\(type)" + (filename.map { ";filename=\($0)" } ?? "")
        case .text(let name, let value):
            return "\(name)=\(value)"
        }
    }
}

/// Calls the service with the `curl` CLI (TLS verification off: the certificate is self-signed),
/// each request in its own bounded process.
struct HTTPClient: Sendable {
    let baseURL: String
    let directory: TestDirectory
    var maxTime = 60

    func get(_ path: String, _ extra: [String] = []) async throws -> HTTPAnswer {
        try await request(path, extra)
    }

    func postJSON(_ path: String, _ body: String, contentType: String = "application/json") async throws -> HTTPAnswer {
        let file = directory.file("json-\(UInt32.random(in: 0...UInt32.max))")
        try Data(body.utf8).write(to: URL(fileURLWithPath: file))
        return try await request(path, ["-H", "Content-Type: \(contentType)", "--data-binary", "@\(file)"])
    }

    func postJSON(_ path: String, object: Any) async throws -> HTTPAnswer {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await postJSON(path, String(decoding: data, as: UTF8.self))
    }

    func postForm(_ path: String, _ fields: [FormField]) async throws -> HTTPAnswer {
        try await request(path, fields.flatMap { ["-F", $0.curlArgument] })
    }

    /// A raw body from a file with the given Content-Type.
    func postFile(_ path: String, file: String, contentType: String) async throws -> HTTPAnswer {
        try await request(path, ["-H", "Content-Type: \(contentType)", "--data-binary", "@\(file)"])
    }

    func request(_ path: String, _ extra: [String]) async throws -> HTTPAnswer {
        let id = UInt32.random(in: 0...UInt32.max)
        let bodyPath = directory.file("body-\(id)")
        let headerPath = directory.file("headers-\(id)")
        defer {
            unlink(bodyPath)
            unlink(headerPath)
        }
        let (status, output) = try await ChildProcess.run(
            ["curl", "-sSk", "--max-time", String(maxTime), "-H", "Expect:", "-o", bodyPath, "-D", headerPath] + extra + [baseURL + path],
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"], logDirectory: directory.path, timeout: Double(maxTime + 15))
        guard status == "exit 0" else { throw CurlFailed(url: baseURL + path, status: status, output: output) }
        let headerText = (try? String(contentsOfFile: headerPath, encoding: .utf8)) ?? ""
        // The last header block (after any 100 Continue).
        let block = headerText.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
        var lines = block.components(separatedBy: "\r\n")
        let statusLine = lines.isEmpty ? "" : lines.removeFirst()
        let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPAnswer(status: code, headers: headers, body: FileManager.default.contents(atPath: bodyPath) ?? Data())
    }
}

struct CurlFailed: Error, CustomStringConvertible {
    let url: String
    let status: String
    let output: String
    var description: String { "curl \(url) failed (\(status)): \(output)" }
}
