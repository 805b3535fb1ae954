import CFastCGI

/// One accepted libfcgi request: reading its parameters and body, writing the response.
/// Only ever used on the thread that accepted it (libfcgi streams are not thread-safe).
struct FCGXExchange {
    let request: UnsafeMutablePointer<FCGX_Request>

    /// The FastCGI parameters (`NAME=value` strings in `envp`).
    func parameters() -> [String: String] {
        var result: [String: String] = [:]
        guard var cursor = request.pointee.envp else { return result }
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }

    enum BodyOutcome {
        case body([UInt8])
        case tooLarge
        /// Missing bytes or a bad `CONTENT_LENGTH`: answered 400.
        case malformed
    }

    /// Reads FCGI_STDIN to its end, refusing more than `limit` bytes. With a declared
    /// `CONTENT_LENGTH` over the limit nothing is read (libfcgi's lingering close copes
    /// with the unread rest when the connection is closed).
    func readBody(declaredLength: Int??, limit: Int) -> BodyOutcome {
        var expected: Int?
        switch declaredLength {
        case .none: expected = nil
        case .some(.none): return .malformed
        case .some(.some(let length)):
            if length > limit { return .tooLarge }
            expected = length
        }
        var body = [UInt8](repeating: 0, count: expected ?? min(limit, 64 * 1024))
        var filled = 0
        while true {
            if filled == body.count {
                if let expected, filled >= expected {
                    // Declared length reached; anything beyond it is ignored, as in CGI.
                    break
                }
                if body.count >= limit {
                    // One byte more than allowed would still be a 413; probe for it.
                    var probe: CChar = 0
                    if FCGX_GetStr(&probe, 1, request.pointee.in) > 0 { return .tooLarge }
                    break
                }
                body.append(contentsOf: repeatElement(0, count: min(max(body.count, 64 * 1024), limit - body.count)))
            }
            let want = Int32(min(body.count - filled, 1 << 30))
            let got = body.withUnsafeMutableBytes { raw -> Int32 in
                FCGX_GetStr(raw.baseAddress!.assumingMemoryBound(to: CChar.self) + filled, want, request.pointee.in)
            }
            if got <= 0 { break }
            filled += Int(got)
        }
        if let expected, filled < expected { return .malformed }
        body.removeLast(body.count - filled)
        return .body(body)
    }

    /// Writes the CGI head and the body. `false` when the connection failed.
    func write(_ response: HTTPResponse) -> Bool {
        put(response.cgiHead) && put(response.body) && FCGX_FFlush(request.pointee.out) == 0
    }

    private func put(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return true }
            var offset = 0
            while offset < raw.count {
                let chunk = Int32(min(raw.count - offset, 1 << 30))
                let written = FCGX_PutStr(base + offset, chunk, request.pointee.out)
                if written < 0 { return false }
                offset += Int(written)
            }
            return true
        }
    }
}
