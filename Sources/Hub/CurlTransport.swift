import CCurl
import Foundation

/// `HTTPTransport` over libcurl (through the CCurl shim).
///
/// Owns one curl easy handle, so sequential requests reuse connections. Honours
/// the usual proxy variables (HTTPS_PROXY, NO_PROXY...) because libcurl does.
/// Speaks http and https only (the shim restricts libcurl's protocols), whatever
/// URL it is handed.
public final class CurlTransport: HTTPTransport {
    private let session: OpaquePointer
    private let connectTimeout: TimeInterval
    private let stallTimeout: TimeInterval

    public init(connectTimeout: TimeInterval = 10, stallTimeout: TimeInterval = 60) throws(HubError) {
        guard let session = ccurl_session_new() else {
            throw HubError.invalidResponse(url: "libcurl", reason: "libcurl could not be initialised")
        }
        self.session = session
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
    }

    deinit { ccurl_session_free(session) }

    /// libcurl's version line, for start-up logs.
    public static var libraryVersion: String { String(cString: ccurl_version()) }

    public func send(_ request: HTTPRequest, body: HTTPBodySink?, isCancelled: @escaping () -> Bool) throws
        -> HTTPResponseHead
    {
        let state = TransferState(sink: body, isCancelled: isCancelled)
        let headerLines = request.headers.map { "\($0.name): \($0.value)" }
        var result = ccurl_result()

        withCStrings(headerLines) { headerPointers in
            request.url.withCString { url in
                headerPointers.withUnsafeBufferPointer { headers in
                    let context = Unmanaged.passUnretained(state).toOpaque()
                    var options = ccurl_request(
                        url: url,
                        head_only: request.method == .head ? 1 : 0,
                        headers: headers.baseAddress,
                        header_count: headers.count,
                        connect_timeout_ms: Int(connectTimeout * 1000),
                        stall_timeout_s: Int(stallTimeout.rounded(.up)),
                        total_timeout_ms: request.timeout.map { Int($0 * 1000) } ?? 0,
                        on_header: curlHeaderCallback,
                        on_body: curlBodyCallback,
                        on_tick: curlTickCallback,
                        context: context
                    )
                    withExtendedLifetime(state) { ccurl_perform(session, &options, &result) }
                }
            }
        }

        if let sinkError = state.sinkError { throw sinkError }
        let message = withUnsafeBytes(of: result.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        switch result.failure {
        case CCURL_OK:
            return state.head ?? HTTPResponseHead(status: Int(result.status), headers: [:])
        case CCURL_RESOLVE_FAILED: throw TransportFailure.resolveFailed(message)
        case CCURL_CONNECT_FAILED: throw TransportFailure.connectFailed(message)
        case CCURL_TIMED_OUT: throw TransportFailure.timedOut(message)
        case CCURL_CONNECTION_BROKEN: throw TransportFailure.connectionBroken(message)
        case CCURL_TLS_FAILED: throw TransportFailure.tlsFailed(message)
        case CCURL_ABORTED_BY_CALLBACK_TICK: throw TransportFailure.cancelled
        case CCURL_REFUSED_PROTOCOL: throw TransportFailure.refusedProtocol(message)
        default: throw TransportFailure.other("\(message) (curl error \(result.curl_code))")
        }
    }
}

/// Mutable per-request state reached from the C callbacks through an opaque pointer.
private final class TransferState {
    let sink: HTTPBodySink?
    let isCancelled: () -> Bool
    var status = 0
    var headers: [String: String] = [:]
    var head: HTTPResponseHead?
    var sinkError: (any Error)?

    init(sink: HTTPBodySink?, isCancelled: @escaping () -> Bool) {
        self.sink = sink
        self.isCancelled = isCancelled
    }

    func headerLine(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new response (e.g. after "100 Continue"): start over.
            let parts = trimmed.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = [:]
            head = nil
        } else if trimmed.isEmpty {
            head = HTTPResponseHead(status: status, headers: headers)
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = value
        }
    }

    func body(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let sink else { return true }
        let currentHead = head ?? HTTPResponseHead(status: status, headers: headers)
        do {
            try sink(currentHead, bytes)
            return true
        } catch {
            sinkError = error
            return false
        }
    }
}

private let curlHeaderCallback: ccurl_header_callback = { context, data, length in
    guard let context, let data else { return length }
    let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    state.headerLine(line)
    return length
}

private let curlBodyCallback: ccurl_body_callback = { context, data, length in
    guard let context else { return 0 }
    let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    let accepted = state.body(UnsafeRawBufferPointer(start: data, count: length))
    return accepted ? length : 0
}

private let curlTickCallback: ccurl_tick_callback = { context in
    guard let context else { return 0 }
    let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    return state.isCancelled() ? 1 : 0
}

/// Keeps C copies of `strings` alive for the duration of `body`.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) })
}
