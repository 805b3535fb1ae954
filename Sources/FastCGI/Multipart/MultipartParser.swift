import CFastCGI

/// `multipart/form-data` (RFC 7578 over RFC 2046 §5.1.1) parsed in one pass over a
/// body held in memory; parts are slices of that body.
///
/// Grammar accepted:
/// ```
/// body     := [preamble CRLF] "--" boundary padding CRLF part
///             *(CRLF "--" boundary padding CRLF part) CRLF "--" boundary "--" [epilogue]
/// part     := *(header CRLF) CRLF data          ; padding := *(SP / HTAB)
/// ```
/// - The preamble and epilogue are ignored (python-multipart rejects a preamble; RFC 2046
///   allows one).
/// - `CRLF--boundary` inside data is only a delimiter when followed by `--` or by optional
///   spaces and CRLF; otherwise it is data (python-multipart does the same).
/// - Lines must end in CRLF; a bare LF where a line break belongs is a malformed body.
/// - A body that ends before the closing delimiter is refused (python-multipart silently
///   drops the unfinished part; refusing is the clearer answer).
/// - Header folding (a line starting with a space or tab) is joined to the previous line.
public struct MultipartParser: Sendable {
    public var limits: MultipartLimits

    public init(limits: MultipartLimits = MultipartLimits()) {
        self.limits = limits
    }

    /// The boundary of a `multipart/form-data` Content-Type: 1 to 200 bytes (RFC 2046
    /// says at most 70; some clients exceed it), no CR or LF.
    public static func boundary(of contentType: HeaderValue) throws(MultipartError) -> [UInt8] {
        guard let boundary = contentType.parameter("boundary") else { throw .missingBoundary }
        let bytes = Array(boundary.utf8)
        guard !bytes.isEmpty, bytes.count <= 200, !bytes.contains(0x0D), !bytes.contains(0x0A) else {
            throw .invalidBoundary
        }
        return bytes
    }

    public func parse(_ body: [UInt8], boundary: [UInt8]) throws(MultipartError) -> [FormPart] {
        guard !boundary.isEmpty else { throw .invalidBoundary }
        guard body.count <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        if body.isEmpty { return [] }
        var result: Result<[FormPart], MultipartError> = .success([])
        body.withUnsafeBufferPointer { buffer in
            var scanner = MultipartScanner(buffer: buffer, boundary: boundary, limits: limits)
            do throws(MultipartError) {
                let ranges = try scanner.parts()
                result = .success(
                    ranges.map { range in
                        FormPart(
                            name: range.name, filename: range.filename, contentType: range.headers["content-type"],
                            headers: range.headers, data: body[range.data])
                    })
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }
}

/// The parsing itself, over a raw buffer, producing byte ranges.
struct MultipartScanner {
    struct PartRange {
        var name: String
        var filename: String?
        var headers: HTTPHeaders
        var data: Range<Int>
    }

    let buffer: UnsafeBufferPointer<UInt8>
    /// `CRLF--boundary`
    let delimiter: [UInt8]
    let limits: MultipartLimits

    init(buffer: UnsafeBufferPointer<UInt8>, boundary: [UInt8], limits: MultipartLimits) {
        self.buffer = buffer
        self.delimiter = [0x0D, 0x0A, UInt8(ascii: "-"), UInt8(ascii: "-")] + boundary
        self.limits = limits
    }

    enum Delimiter {
        case close
        /// Next part starts at this offset.
        case next(Int)
    }

    mutating func parts() throws(MultipartError) -> [PartRange] {
        var parts: [PartRange] = []
        // The first delimiter has no CRLF in front when there is no preamble.
        var kind: Delimiter
        let dashBoundary = delimiter.count - 2
        if buffer.count >= dashBoundary, let first = classify(after: dashBoundary), startsWith(delimiter[2...], at: 0) {
            kind = first
        } else {
            var searchFrom = 0
            var found: Delimiter?
            while found == nil {
                guard let candidate = find(delimiter, from: searchFrom) else { throw .noOpeningBoundary }
                found = classify(after: candidate + delimiter.count)
                searchFrom = candidate + 1
            }
            kind = found!
        }
        while case .next(let partStart) = kind {
            if parts.count >= limits.maxParts { throw .tooManyParts(limit: limits.maxParts) }
            let (headers, dataStart) = try headerBlock(at: partStart)
            let (name, filename) = try disposition(headers)
            var searchFrom = dataStart
            var dataEnd: Int?
            var following: Delimiter?
            while following == nil {
                guard let candidate = find(delimiter, from: searchFrom) else { throw .unexpectedEnd }
                if let classified = classify(after: candidate + delimiter.count) {
                    dataEnd = candidate
                    following = classified
                }
                searchFrom = candidate + 1
            }
            let data = dataStart..<dataEnd!
            if filename == nil && data.count > limits.maxFieldBytes {
                throw .fieldTooLarge(limit: limits.maxFieldBytes)
            }
            parts.append(PartRange(name: name, filename: filename, headers: headers, data: data))
            kind = following!
        }
        return parts
    }

    private func startsWith(_ bytes: ArraySlice<UInt8>, at offset: Int) -> Bool {
        guard offset + bytes.count <= buffer.count else { return false }
        var index = offset
        for byte in bytes {
            if buffer[index] != byte { return false }
            index += 1
        }
        return true
    }

    /// What follows a delimiter ending at `offset`: `--` (close), or padding + CRLF (a
    /// part begins after it). `nil`: not a delimiter after all (or the body ends here).
    private func classify(after offset: Int) -> Delimiter? {
        if offset + 2 <= buffer.count && buffer[offset] == UInt8(ascii: "-") && buffer[offset + 1] == UInt8(ascii: "-") {
            return .close
        }
        var index = offset
        while index < buffer.count && (buffer[index] == 0x20 || buffer[index] == 0x09) { index += 1 }
        if index + 2 <= buffer.count && buffer[index] == 0x0D && buffer[index + 1] == 0x0A {
            return .next(index + 2)
        }
        return nil
    }

    private func find(_ needle: [UInt8], from offset: Int, limit: Int? = nil) -> Int? {
        let end = min(limit ?? buffer.count, buffer.count)
        guard offset < end, end - offset >= needle.count, let base = buffer.baseAddress else { return nil }
        return needle.withUnsafeBufferPointer { pattern -> Int? in
            guard let hit = cfcgi_memmem(base + offset, end - offset, pattern.baseAddress!, pattern.count) else { return nil }
            return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
        }
    }

    private static let headerEnd: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]

    /// Header lines from `start` to the empty line; returns the headers and where data begins.
    private func headerBlock(at start: Int) throws(MultipartError) -> (HTTPHeaders, Int) {
        if start + 2 <= buffer.count && buffer[start] == 0x0D && buffer[start + 1] == 0x0A {
            return (HTTPHeaders(), start + 2)  // no headers at all
        }
        let window = start + limits.maxHeaderBytes
        guard let end = find(Self.headerEnd, from: start, limit: window + 2) else {
            if buffer.count > window { throw .headersTooLarge(limit: limits.maxHeaderBytes) }
            throw .unexpectedEnd
        }
        if end + 2 - start > limits.maxHeaderBytes { throw .headersTooLarge(limit: limits.maxHeaderBytes) }
        var headers = HTTPHeaders()
        var pending: (name: String, value: [UInt8])?
        var lineStart = start
        while lineStart < end + 2 {
            // Lines end at CRLF; the block ends at `end` (its final CRLF is at end..end+2).
            var lineEnd = lineStart
            while !(buffer[lineEnd] == 0x0D && buffer[lineEnd + 1] == 0x0A) { lineEnd += 1 }
            let line = UnsafeBufferPointer(rebasing: buffer[lineStart..<lineEnd])
            lineStart = lineEnd + 2
            if line.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
                throw .malformedHeader("control character in header line")
            }
            if let first = line.first, first == 0x20 || first == 0x09 {
                guard pending != nil else { throw .malformedHeader("continuation line without a header") }
                pending!.value.append(0x20)
                pending!.value.append(contentsOf: line.drop { $0 == 0x20 || $0 == 0x09 })
                continue
            }
            if let previous = pending {
                headers.add(previous.name, HeaderText.decode(previous.value).trimmingSpaces())
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                throw .malformedHeader("header line without a name and colon")
            }
            let nameBytes = line[..<colon]
            guard nameBytes.allSatisfy(Self.isTokenByte) else { throw .malformedHeader("invalid header name") }
            pending = (name: String(decoding: nameBytes, as: UTF8.self), value: Array(line[(colon + 1)...]))
        }
        if let previous = pending {
            headers.add(previous.name, HeaderText.decode(previous.value).trimmingSpaces())
        }
        return (headers, end + 4)
    }

    /// RFC 9110 token characters.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Name and filename from Content-Disposition (any disposition type is accepted, as
    /// python-multipart does; RFC 7578 says `form-data`).
    private func disposition(_ headers: HTTPHeaders) throws(MultipartError) -> (String, String?) {
        guard let raw = headers["content-disposition"] else { throw .missingName }
        let parsed = HeaderValue(parsing: raw)
        guard let name = parsed.parameter("name") else { throw .missingName }
        var filename = parsed.parameter("filename*") ?? parsed.parameter("filename")
        if let plain = filename, Self.looksLikeWindowsPath(plain) {
            filename = plain.split(separator: "\\", omittingEmptySubsequences: false).last.map(String.init) ?? plain
        }
        return (name, filename)
    }

    /// `C:\…` or `\\server\…`: the full path IE used to send.
    private static func looksLikeWindowsPath(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars.prefix(3))
        if scalars.count >= 3 && scalars[1] == ":" && scalars[2] == "\\" { return true }
        return scalars.count >= 2 && scalars[0] == "\\" && scalars[1] == "\\"
    }
}
