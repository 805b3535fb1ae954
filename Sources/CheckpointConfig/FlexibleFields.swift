/// Field shapes that checkpoint configs write in more than one way.

/// `image_size` / `patch_size`: an integer, or a `[height, width]` pair.
public struct SizeField: Decodable, Equatable, Sendable {
    public var height: Int
    public var width: Int

    public init(_ side: Int) {
        height = side
        width = side
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let side = try? container.decode(Int.self) {
            self.init(side)
            return
        }
        let pair: [Int]
        do {
            pair = try container.decode([Int].self)
        } catch {
            throw DecodingError.typeMismatch(
                Int.self, .init(codingPath: decoder.codingPath, debugDescription: "an integer or [height, width]"))
        }
        guard pair.count == 2 else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath, debugDescription: "expected an integer or [height, width], found \(pair.count) numbers")
            )
        }
        self.init(height: pair[0], width: pair[1])
    }

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }
}

/// `image_mean` / `image_std`: one number for every channel, or one per channel.
public struct NumberList: Decodable, Equatable, Sendable {
    public var values: [Double]
    /// True when the file gave a single number.
    public var isScalar: Bool

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            values = [number]
            isScalar = true
        } else {
            values = try container.decode([Double].self)
            isScalar = false
        }
    }
}

/// `{"longest_edge": N}` (Idefics3's `size` and `max_image_size`); other keys are kept for the error message.
public struct LongestEdgeField: Decodable, Equatable, Sendable {
    public var longestEdge: Int?
    public var otherKeys: [String]

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        longestEdge = try container.decodeIfPresent(Int.self, forKey: AnyKey(stringValue: "longest_edge"))
        otherKeys = container.allKeys.map(\.stringValue).filter { $0 != "longest_edge" }.sorted()
    }
}
