import Foundation
import ProcessTestSupport
import Testing

/// An HTTP answer as curl saw it, with the API's JSON shapes.
typealias HTTPAnswer = CurlAnswer

extension CurlAnswer {
    var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    var object: [String: Any]? { json as? [String: Any] }
    /// FastAPI's `{"detail": "..."}`.
    var detail: String? { object?["detail"] as? String }
    /// FastAPI's 422 `{"detail": [{"loc", "msg", "type"}]}`.
    var validationIssues: [[String: Any]]? { object?["detail"] as? [[String: Any]] }
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
    /// Prepended to curl's command line (`ip netns exec NS` for a client inside a namespace).
    var launcher: [String] = []

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
        try await curl(
            baseURL + path, ["-H", "Expect:"] + extra, scratchDirectory: directory.path, maxTime: maxTime,
            timeout: Double(maxTime + 15), launcher: launcher)
    }
}
