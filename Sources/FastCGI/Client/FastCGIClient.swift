import Glibc
import POSIX

/// A minimal blocking FastCGI client: one request per connection, the parameters nginx's
/// `fastcgi_params` would send. For tests, health probes of a worker and tools; the
/// service's real client is nginx.
public struct FastCGIClient: Sendable {
    public var address: ListenAddress
    /// Send/receive timeout per socket operation.
    public var timeoutSeconds: Int

    public init(address: ListenAddress, timeoutSeconds: Int = 30) {
        self.address = address
        self.timeoutSeconds = timeoutSeconds
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
        /// What the application wrote to FCGI_STDERR.
        public var stderr: [UInt8]
        public var appStatus: UInt32

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public enum Failure: Error, Sendable, Equatable {
        case connect(errno: Int32)
        case io(String, errno: Int32)
        /// The connection closed before FCGI_END_REQUEST.
        case closedEarly
        case protocolViolation(String)
    }

    /// Sends one request. `contentLength` overrides the declared CONTENT_LENGTH (tests of
    /// truncated bodies); `extraParameters` are added to or replace the defaults.
    public func send(
        _ method: HTTPMethod, _ path: String, query: String = "", headers: [(String, String)] = [],
        body: [UInt8] = [], contentLength: Int? = nil, extraParameters: [String: String] = [:]
    ) throws(Failure) -> Response {
        var parameters: [String: String] = [
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "FastCGIClient",
            "REQUEST_METHOD": method.rawValue,
            "REQUEST_URI": query.isEmpty ? path : "\(path)?\(query)",
            "DOCUMENT_URI": path,
            "SCRIPT_NAME": path,
            "QUERY_STRING": query,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": body.isEmpty && contentLength == nil ? "" : String(contentLength ?? body.count),
            "CONTENT_TYPE": "",
        ]
        for (name, value) in headers {
            let lowered = name.lowercased()
            if lowered == "content-type" {
                parameters["CONTENT_TYPE"] = value
            } else if lowered != "content-length" {
                parameters["HTTP_" + lowered.uppercased().replacingDashes()] = value
            }
        }
        for (name, value) in extraParameters { parameters[name] = value }

        let requestID: UInt16 = 1
        var wire = FastCGIRecord.beginRequest(requestID: requestID, keepConnection: false)
        wire += FastCGIRecord.stream(
            .params, requestID: requestID, content: FastCGIRecord.nameValuePairs(parameters.sorted { $0.key < $1.key }))
        wire += FastCGIRecord.stream(.stdin, requestID: requestID, content: body)

        let connection = try FastCGIConnection.open(address, timeoutSeconds: timeoutSeconds)
        defer { connection.close() }
        try connection.write(wire)

        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        while true {
            guard let header = try connection.read(exactly: FastCGIRecord.headerLength) else { throw .closedEarly }
            guard header[0] == FastCGIRecord.version else { throw .protocolViolation("version \(header[0])") }
            let contentLength = Int(header[4]) << 8 | Int(header[5])
            let padding = Int(header[6])
            guard let content = try connection.read(exactly: contentLength + padding) else { throw .closedEarly }
            let payload = content[..<contentLength]
            switch FastCGIRecord.RecordType(rawValue: header[1]) {
            case .stdout: stdout += payload
            case .stderr: stderr += payload
            case .endRequest:
                guard payload.count >= 8 else { throw .protocolViolation("short END_REQUEST") }
                let bytes = Array(payload)
                let appStatus = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
                var response = try Self.parseCGI(stdout)
                response.stderr = stderr
                response.appStatus = appStatus
                return response
            default:
                continue  // management records are not expected; ignore
            }
        }
    }

    /// Splits a CGI response into its head and body; `Status:` gives the code (200 without).
    static func parseCGI(_ output: [UInt8]) throws(Failure) -> Response {
        let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var headEnd: Int?
        if output.count >= 4 {
            for index in 0...(output.count - 4) where output[index..<index + 4].elementsEqual(separator) {
                headEnd = index
                break
            }
        }
        guard let headEnd else { throw .protocolViolation("response without a header block") }
        let head = String(decoding: output[..<headEnd], as: UTF8.self)
        var headers = HTTPHeaders()
        var status = 200
        for line in head.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { throw .protocolViolation("header line '\(line)'") }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingSpaces()
            if name.lowercased() == "status" {
                status = Int(value.prefix { $0.isNumber }) ?? 0
            } else {
                headers.add(name, value)
            }
        }
        return Response(status: status, headers: headers, body: Array(output[(headEnd + 4)...]), stderr: [], appStatus: 0)
    }
}

/// A connected stream socket with blocking, timed reads and writes.
struct FastCGIConnection {
    let fd: Int32

    static func open(_ address: ListenAddress, timeoutSeconds: Int) throws(FastCGIClient.Failure) -> FastCGIConnection {
        let target: SocketAddress
        do {
            target = try SocketAddress(address)
        } catch {
            throw .connect(errno: EINVAL)
        }
        let fd = socket(target.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connect(errno: errno) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = target.withSockaddr { connect(fd, $0, $1) }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .connect(errno: code)
        }
        return FastCGIConnection(fd: fd)
    }

    func write(_ bytes: [UInt8]) throws(FastCGIClient.Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw .io("send", errno: errno)
            }
            offset += written
        }
    }

    /// Exactly `count` bytes, or `nil` if the peer closed first.
    func read(exactly count: Int) throws(FastCGIClient.Failure) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBytes { raw in
                recv(fd, raw.baseAddress! + filled, count - filled, 0)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw .io("recv", errno: errno)
            }
            if got == 0 { return nil }
            filled += got
        }
        return buffer
    }

    func close() {
        Glibc.close(fd)
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
