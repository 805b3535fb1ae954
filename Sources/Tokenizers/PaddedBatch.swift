/// Sequences of a batch padded to a common length, as a model consumes them.
public struct PaddedBatch: Sendable, Equatable {
    /// `count` rows of `width` ids each.
    public let inputIDs: [[Int]]
    /// 1 for real tokens, 0 for padding; same shape as `inputIDs`.
    public let attentionMask: [[Int]]
    /// Number of real tokens in each row.
    public let lengths: [Int]
    /// Which side the padding is on.
    public let side: TokenizerConfig.PaddingSide

    /// Length of every row (the longest sequence).
    public var width: Int { inputIDs.first?.count ?? 0 }
    public var count: Int { inputIDs.count }

    /// Pads `sequences` to the longest one. A pad id is only required when lengths differ.
    public init(sequences: [[Int]], padID: Int?, side: TokenizerConfig.PaddingSide) throws {
        let width = sequences.map(\.count).max() ?? 0
        var ids: [[Int]] = []
        var mask: [[Int]] = []
        ids.reserveCapacity(sequences.count)
        mask.reserveCapacity(sequences.count)
        for sequence in sequences {
            let missing = width - sequence.count
            if missing == 0 {
                ids.append(sequence)
                mask.append([Int](repeating: 1, count: width))
                continue
            }
            guard let padID else { throw TokenizerError.missingPadToken }
            let padding = [Int](repeating: padID, count: missing)
            let zeros = [Int](repeating: 0, count: missing)
            let ones = [Int](repeating: 1, count: sequence.count)
            switch side {
            case .left:
                ids.append(padding + sequence)
                mask.append(zeros + ones)
            case .right:
                ids.append(sequence + padding)
                mask.append(ones + zeros)
            }
        }
        inputIDs = ids
        attentionMask = mask
        lengths = sequences.map(\.count)
        self.side = side
    }

    /// The unpadded ids of row `row`.
    public func ids(row: Int) -> ArraySlice<Int> {
        let padding = width - lengths[row]
        return side == .left ? inputIDs[row][padding...] : inputIDs[row][..<lengths[row]]
    }
}
