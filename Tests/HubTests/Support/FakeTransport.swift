import Foundation

@testable import Hub

/// An `HTTPTransport` that answers from a table and records what it was asked, for
/// checks that must hold before anything reaches a socket.
final class FakeTransport: HTTPTransport {
    struct Answer {
        var head: HTTPResponseHead
        var body = Data()
    }

    private(set) var requests: [HTTPRequest] = []
    private let answer: (HTTPRequest) -> Answer

    init(answer: @escaping (HTTPRequest) -> Answer) { self.answer = answer }

    func send(_ request: HTTPRequest, body: HTTPBodySink?, isCancelled: @escaping () -> Bool) throws -> HTTPResponseHead {
        requests.append(request)
        let reply = answer(request)
        if let body, !reply.body.isEmpty { try reply.body.withUnsafeBytes { try body(reply.head, $0) } }
        return reply.head
    }

    /// The model-info answer of a repository at `commit` with a few files.
    static func modelInfo(commit: String) -> FakeTransport {
        FakeTransport { _ in
            Answer(
                head: HTTPResponseHead(status: 200, headers: ["content-type": "application/json"]),
                body: Data(#"{"sha": "\#(commit)", "siblings": [{"rfilename": "config.json"}]}"#.utf8))
        }
    }
}

extension HTTPRequest {
    var authorization: String? { headers.first { $0.name == "Authorization" }?.value }
}
