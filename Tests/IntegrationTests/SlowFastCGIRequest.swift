import Foundation
import Glibc
import Synchronization

/// A FastCGI request written straight to the pool's unix socket (as nginx would), whose body
/// is sent in two halves: the first at once, the second only when `finish()` is called. In
/// between, the request is in flight inside a worker (accepted, reading its body), which lets
/// a test stop the pool at a moment when it must drain.
///
/// The protocol (FastCGI 1.0): 8-byte record headers {version 1, type, request id, content
/// length, padding length}; BEGIN_REQUEST (role 1 = responder), PARAMS as name-value pairs
/// ending with an empty PARAMS record, STDIN ending with an empty STDIN record; the answer
/// comes as STDOUT records (CGI headers, a blank line, the body) and END_REQUEST.
/// The blocking socket work runs on its own thread.
final class SlowFastCGIRequest: Sendable {
    struct Answer: Sendable {
        let status: Int
        let body: Data
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    enum Outcome: Sendable {
        case answered(Answer)
        case failed(String)
    }

    private let state = Mutex<(firstHalfSent: Bool, outcome: Outcome?)>((false, nil))
    private let release = DispatchSemaphore(value: 0)

    var firstHalfSent: Bool { state.withLock { $0.firstHalfSent } }
    var outcome: Outcome? { state.withLock { $0.outcome } }

    /// Connects and sends everything but the second half of `body`.
    init(socketPath: String, method: String = "POST", path: String, contentType: String, body: [UInt8], timeoutSeconds: Int = 60) {
        let thread = Thread { [self] in
            let outcome: Outcome
            do {
                outcome = .answered(
                    try Self.exchange(
                        socketPath: socketPath, method: method, path: path, contentType: contentType, body: body,
                        timeoutSeconds: timeoutSeconds,
                        afterFirstHalf: {
                            self.state.withLock { $0.firstHalfSent = true }
                            // Bounded: a test that never calls finish() still ends.
                            _ = self.release.wait(timeout: .now() + .seconds(timeoutSeconds))
                        }))
            } catch {
                outcome = .failed("\(error)")
            }
            self.state.withLock { $0.outcome = outcome }
        }
        thread.name = "slow-fastcgi-request"
        thread.start()
    }

    /// Sends the rest of the body.
    func finish() { release.signal() }

    /// One whole request, blocking the calling thread (for load generated on plain threads).
    static func send(
        socketPath: String, method: String = "GET", path: String, contentType: String = "", body: [UInt8] = [], timeoutSeconds: Int = 30
    ) -> Outcome {
        do {
            return .answered(
                try exchange(
                    socketPath: socketPath, method: method, path: path, contentType: contentType, body: body,
                    timeoutSeconds: timeoutSeconds, afterFirstHalf: {}))
        } catch {
            return .failed("\(error)")
        }
    }

    // MARK: - Protocol

    struct WireError: Error, CustomStringConvertible {
        let description: String
    }

    private static func exchange(
        socketPath: String, method: String, path: String, contentType: String, body: [UInt8], timeoutSeconds: Int,
        afterFirstHalf: () -> Void
    ) throws -> Answer {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw WireError(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw WireError(description: "socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw WireError(description: "connect \(socketPath): errno \(errno)") }

        let parameters: [(String, String)] = [
            ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_METHOD", method),
            ("REQUEST_URI", path), ("DOCUMENT_URI", path), ("SCRIPT_NAME", path), ("QUERY_STRING", ""),
            ("CONTENT_TYPE", contentType), ("CONTENT_LENGTH", String(body.count)), ("REMOTE_ADDR", "127.0.0.1"),
            ("SERVER_NAME", "localhost"), ("SERVER_PORT", "0"),
        ]
        var pairs: [UInt8] = []
        for (name, value) in parameters {
            appendLength(name.utf8.count, to: &pairs)
            appendLength(value.utf8.count, to: &pairs)
            pairs += Array(name.utf8) + Array(value.utf8)
        }
        var first: [UInt8] = record(type: 1, content: [0, 1, 0, 0, 0, 0, 0, 0])  // BEGIN_REQUEST, responder, no keep-alive
        first += record(type: 4, content: pairs) + record(type: 4, content: [])
        let half = body.count / 2
        first += stdinRecords(body[..<half])
        try writeAll(fd, first)
        afterFirstHalf()
        try writeAll(fd, stdinRecords(body[half...]) + record(type: 5, content: []))

        // Read records until END_REQUEST.
        var stdout: [UInt8] = []
        var buffer: [UInt8] = []
        var ended = false
        while !ended {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw WireError(description: "read: errno \(errno)") }
            if count == 0 { break }
            buffer += chunk[..<count]
            while buffer.count >= 8 {
                let length = Int(buffer[4]) << 8 | Int(buffer[5])
                let padding = Int(buffer[6])
                guard buffer.count >= 8 + length + padding else { break }
                let type = buffer[1]
                if type == 6 { stdout += buffer[8..<(8 + length)] }
                if type == 3 { ended = true }
                buffer.removeFirst(8 + length + padding)
            }
        }
        guard ended else { throw WireError(description: "connection closed before END_REQUEST (\(stdout.count) bytes of stdout)") }
        // CGI response: headers, blank line, body; "Status: 200 OK" (absent means 200).
        let separator: [UInt8] = [13, 10, 13, 10]
        guard
            let split = (0...(max(stdout.count - 4, 0))).first(where: {
                stdout.count >= $0 + 4 && Array(stdout[$0..<($0 + 4)]) == separator
            })
        else {
            throw WireError(description: "no header block in \(String(decoding: stdout.prefix(200), as: UTF8.self))")
        }
        let headerText = String(decoding: stdout[..<split], as: UTF8.self)
        var status = 200
        for line in headerText.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("status:") {
            status = Int(line.dropFirst("status:".count).trimmingCharacters(in: .whitespaces).prefix(3)) ?? 0
        }
        return Answer(status: status, body: Data(stdout[(split + 4)...]))
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        if length < 128 {
            bytes.append(UInt8(length))
        } else {
            bytes += [UInt8((length >> 24) & 0x7f | 0x80), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
        }
    }

    private static func record(type: UInt8, content: [UInt8]) -> [UInt8] {
        let padding = (8 - content.count % 8) % 8
        return [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), UInt8(padding), 0]
            + content + [UInt8](repeating: 0, count: padding)
    }

    private static func stdinRecords(_ data: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var start = data.startIndex
        while start < data.endIndex {
            let end = min(start + 65535, data.endIndex)
            out += record(type: 5, content: Array(data[start..<end]))
            start = end
        }
        return out
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw WireError(description: "write: errno \(errno)")
            }
            offset += written
        }
    }
}
