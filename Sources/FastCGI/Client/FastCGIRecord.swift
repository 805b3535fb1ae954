/// FastCGI 1.0 wire records (the protocol specification, section 3), used by
/// `FastCGIClient`. The server side of the protocol is libfcgi's.
enum FastCGIRecord {
    static let version: UInt8 = 1
    static let headerLength = 8
    static let maxContentLength = 65_535

    enum RecordType: UInt8 {
        case beginRequest = 1
        case abortRequest = 2
        case endRequest = 3
        case params = 4
        case stdin = 5
        case stdout = 6
        case stderr = 7
        case data = 8
        case getValues = 9
        case getValuesResult = 10
        case unknownType = 11
    }

    static let responderRole: UInt16 = 1

    /// One record with `content` (at most 65535 bytes), padded to a multiple of 8.
    static func encode(_ type: RecordType, requestID: UInt16, content: ArraySlice<UInt8>) -> [UInt8] {
        precondition(content.count <= maxContentLength)
        let padding = (8 - content.count % 8) % 8
        var record: [UInt8] = [
            version, type.rawValue, UInt8(requestID >> 8), UInt8(requestID & 0xFF),
            UInt8(content.count >> 8), UInt8(content.count & 0xFF), UInt8(padding), 0,
        ]
        record.append(contentsOf: content)
        record.append(contentsOf: repeatElement(0, count: padding))
        return record
    }

    /// A stream (`params`, `stdin`) as records of at most 65535 bytes, closed by an empty one.
    static func stream(_ type: RecordType, requestID: UInt16, content: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var offset = 0
        while offset < content.count {
            let end = min(offset + maxContentLength, content.count)
            output += encode(type, requestID: requestID, content: content[offset..<end])
            offset = end
        }
        output += encode(type, requestID: requestID, content: [])
        return output
    }

    static func beginRequest(requestID: UInt16, keepConnection: Bool) -> [UInt8] {
        let body: [UInt8] = [UInt8(responderRole >> 8), UInt8(responderRole & 0xFF), keepConnection ? 1 : 0, 0, 0, 0, 0, 0]
        return encode(.beginRequest, requestID: requestID, content: body[...])
    }

    /// Name-value pairs: lengths below 128 take one byte, others four with the top bit set.
    static func nameValuePairs(_ pairs: [(String, String)]) -> [UInt8] {
        var output: [UInt8] = []
        func appendLength(_ length: Int) {
            if length < 128 {
                output.append(UInt8(length))
            } else {
                output += [
                    UInt8((length >> 24) & 0x7F) | 0x80, UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF),
                ]
            }
        }
        for (name, value) in pairs {
            let nameBytes = Array(name.utf8)
            let valueBytes = Array(value.utf8)
            appendLength(nameBytes.count)
            appendLength(valueBytes.count)
            output += nameBytes
            output += valueBytes
        }
        return output
    }
}
