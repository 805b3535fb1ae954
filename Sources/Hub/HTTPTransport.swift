import Foundation

/// One HTTP request, as the hub client needs it: HEAD or GET, explicit headers,
/// never following redirects on its own (the client follows them itself so it can
/// read hub headers on the redirect and drop the token when leaving the hub).
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable {
        case head = "HEAD"
        case get = "GET"
    }

    public var method: Method
    public var url: String
    public var headers: [(name: String, value: String)]
    /// Whole-request limit; nil for downloads (which use the stall timeout instead).
    public var timeout: TimeInterval?

    public init(method: Method, url: String, headers: [(name: String, value: String)] = [], timeout: TimeInterval? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.timeout = timeout
    }
}

/// Status and headers of a response. Header names are stored lower-cased.
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]

    public init(status: Int, headers: [String: String]) {
        self.status = status
        self.headers = headers
    }

    public subscript(name: String) -> String? { headers[name.lowercased()] }

    public var isRedirect: Bool { (300...399).contains(status) && self["location"] != nil }
}

/// Why a request produced no complete response.
public enum TransportFailure: Error, Sendable, Equatable {
    case resolveFailed(String)
    case connectFailed(String)
    case timedOut(String)
    case connectionBroken(String)
    case tlsFailed(String)
    case cancelled
    /// The URL's scheme is not http or https; nothing was read or sent.
    case refusedProtocol(String)
    case other(String)

    /// Worth retrying (the link may come back); TLS and "other" are configuration problems.
    var isTransient: Bool {
        switch self {
        case .resolveFailed, .connectFailed, .timedOut, .connectionBroken: return true
        case .tlsFailed, .cancelled, .refusedProtocol, .other: return false
        }
    }

    var detail: String {
        switch self {
        case .resolveFailed(let m): return "cannot resolve host: \(m)"
        case .connectFailed(let m): return "cannot connect: \(m)"
        case .timedOut(let m): return "timed out: \(m)"
        case .connectionBroken(let m): return "connection broken: \(m)"
        case .tlsFailed(let m): return "TLS failure: \(m)"
        case .cancelled: return "cancelled"
        case .refusedProtocol(let m): return "refused, only http and https are allowed: \(m)"
        case .other(let m): return m
        }
    }
}

/// Receives a response body. Called only after the head is known; throwing stops
/// the transfer and the error is rethrown from `send` unchanged.
public typealias HTTPBodySink = (_ head: HTTPResponseHead, _ bytes: UnsafeRawBufferPointer) throws -> Void

/// The seam between the hub logic and the network library.
///
/// Instances are used by one thread at a time (they may hold a connection cache).
public protocol HTTPTransport: AnyObject {
    /// Performs `request`; streams the body to `body` when given. Throws
    /// `TransportFailure` for network problems, or whatever `body` threw.
    func send(_ request: HTTPRequest, body: HTTPBodySink?, isCancelled: @escaping () -> Bool) throws -> HTTPResponseHead
}

extension HTTPTransport {
    /// Performs `request` and collects at most `limit` body bytes.
    func fetch(_ request: HTTPRequest, limit: Int = 64 * 1024 * 1024, isCancelled: @escaping () -> Bool) throws
        -> (HTTPResponseHead, Data)
    {
        var data = Data()
        let head = try send(
            request,
            body: { _, bytes in
                guard data.count + bytes.count <= limit else {
                    throw HubError.invalidResponse(url: request.url, reason: "response larger than \(limit) bytes")
                }
                data.append(contentsOf: bytes)
            }, isCancelled: isCancelled)
        return (head, data)
    }
}
