import Torch

/// A validated batch of token ids: rectangular [B, L], ids inside the vocabulary, with each item's
/// real-token positions (attention mask ≠ 0) and `<image>` count known on the host.
package struct ModelInput {
    /// [B, L] int64, CPU.
    let ids: Tensor
    /// [B, L] bool, CPU; nil when no position is padding.
    let valid: Tensor?
    let batchSize: Int
    let length: Int
    /// Per item, the positions of its own tokens, in order.
    let tokenPositions: [[Int]]
    let imageTokensPerItem: [Int]

    init(inputIds: Tensor, attentionMask: Tensor, config: ModelConfig) throws {
        guard inputIds.rank == 2, inputIds.size(0) > 0, inputIds.size(1) > 0 else {
            throw ColModernVBertError.invalidInput("input ids must be a non-empty [batch, length] tensor, got \(inputIds.shape)")
        }
        guard attentionMask.shape == inputIds.shape else {
            throw ColModernVBertError.invalidInput(
                "attention mask shape \(attentionMask.shape) differs from input ids shape \(inputIds.shape)")
        }
        guard !inputIds.dtype.isFloatingPoint, inputIds.dtype != .bool else {
            throw ColModernVBertError.invalidInput("input ids must be integers, got \(inputIds.dtype)")
        }
        let batchSize = inputIds.size(0)
        let length = inputIds.size(1)
        self.batchSize = batchSize
        self.length = length
        let values = try inputIds.int64s()
        let mask = try attentionMask.ne(0).bools()
        let vocab = config.text.vocabSize
        if let bad = values.first(where: { $0 < 0 || $0 >= vocab }) {
            throw ColModernVBertError.invalidInput("token id \(bad) is outside the vocabulary of \(vocab)")
        }
        var positions: [[Int]] = []
        var imageCounts: [Int] = []
        for item in 0..<batchSize {
            let row = (item * length)..<((item + 1) * length)
            let own = row.filter { mask[$0] }.map { $0 - item * length }
            guard !own.isEmpty else {
                throw ColModernVBertError.invalidInput("item \(item) has no tokens (its attention mask is all zero)")
            }
            positions.append(own)
            imageCounts.append(own.reduce(0) { $0 + (values[item * length + $1] == Int64(config.imageTokenId) ? 1 : 0) })
        }
        tokenPositions = positions
        imageTokensPerItem = imageCounts
        ids = inputIds.dtype == .int64 && inputIds.device == .cpu ? inputIds : try inputIds.to(.cpu, .int64)
        valid = mask.allSatisfy { $0 } ? nil : try Tensor(bools: mask, shape: [batchSize, length])
    }

    /// Builds a left-padded batch from token id lists (padding id `pad`, mask 0).
    static func leftPadded(_ sequences: [[Int]], pad: Int) throws -> (ids: Tensor, mask: Tensor) {
        guard !sequences.isEmpty, let length = sequences.map(\.count).max(), length > 0 else {
            throw ColModernVBertError.invalidInput("no token sequences to embed")
        }
        var ids = [Int64](repeating: Int64(pad), count: sequences.count * length)
        var mask = [Int64](repeating: 0, count: sequences.count * length)
        for (item, sequence) in sequences.enumerated() {
            let start = item * length + (length - sequence.count)
            for (offset, token) in sequence.enumerated() {
                ids[start + offset] = Int64(token)
                mask[start + offset] = 1
            }
        }
        return (
            try Tensor(int64s: ids, shape: [sequences.count, length]),
            try Tensor(int64s: mask, shape: [sequences.count, length])
        )
    }

    /// Every item needs exactly `imageSeqLen` `<image>` tokens per real tile of its own.
    func checkImageTokens(tilesPerItem: [Int], imageSeqLen: Int) throws {
        for item in 0..<batchSize {
            let features = tilesPerItem[item] * imageSeqLen
            if imageTokensPerItem[item] != features {
                throw ColModernVBertError.imageTokenMismatch(
                    item: item, imageTokens: imageTokensPerItem[item], imageFeatures: features)
            }
        }
    }
}
