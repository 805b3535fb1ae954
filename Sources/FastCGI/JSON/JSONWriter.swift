/// Streaming JSON text into a byte buffer, compact (no spaces), like FastAPI's
/// `JSONResponse` (`separators=(",", ":")`, `ensure_ascii=False`: non-ASCII stays UTF-8).
///
/// Commas are placed automatically: after `beginObject`/`beginArray`/`key` the next
/// item needs none, after any value the next one does. That is all the state a
/// well-formed sequence of calls needs, so there is no container stack to keep.
///
/// Floats: `Float` values are written as the shortest text that round-trips to the same
/// binary32 value (see `Float32Shortest`). JSON has no NaN or infinity; those are
/// written as `null` and counted in `nonFiniteCount`, so a caller can choose to fail
/// instead (FastAPI would have answered 500 for them).
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    /// NaN and infinite values that were written as `null`.
    public private(set) var nonFiniteCount = 0
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: Containers

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An object member name; the next call writes its value.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Scalars

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
        needsComma = true
    }

    public mutating func value(_ flag: Bool) {
        separate()
        if flag {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        }
        needsComma = true
    }

    public mutating func value(_ number: Int) {
        separate()
        appendInteger(number)
        needsComma = true
    }

    public mutating func value(_ text: String) {
        separate()
        appendQuoted(text)
        needsComma = true
    }

    /// Shortest round-trip binary32 text.
    public mutating func value(_ number: Float) {
        separate()
        appendFloat(number)
        needsComma = true
    }

    /// Shortest round-trip binary64 text (Swift's `description`, the same digits as Python's `repr`).
    public mutating func value(_ number: Double) {
        separate()
        if number.isFinite {
            bytes.append(contentsOf: number.description.utf8)
        } else {
            nonFiniteCount += 1
            bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        }
        needsComma = true
    }

    /// Any parsed JSON value, members in order.
    public mutating func value(_ json: JSONValue) {
        switch json {
        case .null: null()
        case .bool(let flag): value(flag)
        case .int(let number): value(number)
        case .double(let number): value(number)
        case .string(let text): value(text)
        case .array(let items):
            beginArray()
            for item in items { value(item) }
            endArray()
        case .object(let object):
            beginObject()
            for member in object.members {
                key(member.key)
                value(member.value)
            }
            endObject()
        }
    }

    /// Bytes that already are one JSON value (for example a cached document).
    public mutating func raw(_ json: some Sequence<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    // MARK: Float arrays (hot path)

    /// `[f, f, …]`.
    public mutating func floatArray(_ values: UnsafeBufferPointer<Float>) {
        separate()
        appendFloatRows(values, columns: values.count, nested: false)
        needsComma = true
    }

    public mutating func floatArray(_ values: [Float]) {
        values.withUnsafeBufferPointer { floatArray($0) }
    }

    /// `[[f × columns] × rows]` from row-major storage; `values.count` must be a
    /// multiple of `columns`. A zero-column matrix is written as `[]`.
    public mutating func floatMatrix(_ values: UnsafeBufferPointer<Float>, columns: Int) {
        precondition(columns >= 0 && (columns == 0 || values.count % columns == 0), "matrix shape")
        separate()
        if columns == 0 {
            bytes.append(contentsOf: [UInt8(ascii: "["), UInt8(ascii: "]")])
        } else {
            appendFloatRows(values, columns: columns, nested: true)
        }
        needsComma = true
    }

    public mutating func floatMatrix(_ values: [Float], columns: Int) {
        values.withUnsafeBufferPointer { floatMatrix($0, columns: columns) }
    }

    // MARK: Internals

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// Formats into one uninitialised block sized for the worst case (no zero-filling, no
    /// per-value capacity checks), then appends that block with a single copy. Both steps
    /// stay fast in debug builds too, which matters because tests run unoptimised.
    private mutating func appendFloatRows(_ values: UnsafeBufferPointer<Float>, columns: Int, nested: Bool) {
        let rows = columns == 0 ? 0 : values.count / columns
        let worstCase = values.count * (Float32Shortest.maxLength + 1) + rows * 3 + 2
        var nonFinite = 0
        let text = [UInt8](unsafeUninitializedCapacity: worstCase) { buffer, initialized in
            let base = buffer.baseAddress!
            var position = 0
            base[position] = UInt8(ascii: "[")
            position += 1
            for row in 0..<rows {
                if nested {
                    if row > 0 {
                        base[position] = UInt8(ascii: ",")
                        position += 1
                    }
                    base[position] = UInt8(ascii: "[")
                    position += 1
                }
                let offset = row * columns
                for column in 0..<columns {
                    if column > 0 || (!nested && row > 0) {
                        base[position] = UInt8(ascii: ",")
                        position += 1
                    }
                    let number = values[offset + column]
                    if number.isFinite {
                        position += Float32Shortest.write(number, to: base + position)
                    } else {
                        nonFinite += 1
                        base[position] = UInt8(ascii: "n")
                        base[position + 1] = UInt8(ascii: "u")
                        base[position + 2] = UInt8(ascii: "l")
                        base[position + 3] = UInt8(ascii: "l")
                        position += 4
                    }
                }
                if nested {
                    base[position] = UInt8(ascii: "]")
                    position += 1
                }
            }
            base[position] = UInt8(ascii: "]")
            initialized = position + 1
        }
        bytes.append(contentsOf: text)
        nonFiniteCount += nonFinite
    }

    private mutating func appendFloat(_ number: Float) {
        guard number.isFinite else {
            nonFiniteCount += 1
            bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Float32Shortest.maxLength) { scratch in
            let count = Float32Shortest.write(number, to: scratch.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
        }
    }

    private mutating func appendInteger(_ number: Int) {
        if number == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = number.magnitude
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        while magnitude > 0 {
            digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.append(contentsOf: digits.reversed())
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// JSON string escaping as Python's `json.dumps(ensure_ascii=False)`: quote,
    /// backslash and control characters; everything else verbatim UTF-8.
    private mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0xF)])
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// Compact JSON text of this value.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.bytes
    }
}
