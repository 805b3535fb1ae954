import Logging

/// The one line the server logs per request (info): `METHOD /path STATUS` as the message,
/// the rest as swift-log metadata, so a log handler can print or index it. The logger given
/// to `FastCGIServer` adds its own metadata (the worker's name and pid) to every line.
public enum RequestLog {
    /// Metadata keys.
    public enum Key {
        /// nginx's `$request_id` (the `REQUEST_ID` parameter, else an `X-Request-ID` header),
        /// the same id as in nginx's access log.
        public static let requestID = "request_id"
        public static let requestBytes = "request_bytes"
        /// Body bytes sent.
        public static let responseBytes = "response_bytes"
        /// From accepting the request to handing the last byte to libfcgi, in milliseconds
        /// (one decimal).
        public static let milliseconds = "ms"
        /// Index of the accept thread (0 ..< acceptThreads).
        public static let thread = "thread"
        /// `false` when the client went away before the response could be written.
        public static let delivered = "delivered"
    }

    /// nginx's id for the request: `REQUEST_ID` (what nginx/ sends), else `HTTP_X_REQUEST_ID`.
    static func requestID(_ parameters: [String: String]) -> String? {
        for name in ["REQUEST_ID", "HTTP_X_REQUEST_ID"] {
            if let value = parameters[name], !value.isEmpty { return value }
        }
        return nil
    }

    static func metadata(
        parameters: [String: String], requestBytes: Int, responseBytes: Int, seconds: Double, thread: Int, delivered: Bool
    ) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            Key.requestBytes: "\(requestBytes)",
            Key.responseBytes: "\(responseBytes)",
            Key.milliseconds: "\((seconds * 10_000).rounded() / 10)",
            Key.thread: "\(thread)",
            Key.delivered: "\(delivered)",
        ]
        if let id = requestID(parameters) { metadata[Key.requestID] = "\(id)" }
        return metadata
    }
}
