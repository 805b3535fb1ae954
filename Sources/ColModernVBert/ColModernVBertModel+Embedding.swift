import Torch

/// One image prompt to embed: its token ids (with `imageSeqLen` `<image>` tokens per tile) and its
/// tiles [T, C, S, S] (no padding tiles).
public struct ImagePrompt: @unchecked Sendable {
    public var inputIds: [Int]
    public var tiles: Tensor

    public init(inputIds: [Int], tiles: Tensor) {
        self.inputIds = inputIds
        self.tiles = tiles
    }
}

extension ColModernVBertModel {
    /// Embeds a processed query batch. Returns one `TokenEmbeddings` per row, holding only the
    /// row's own tokens (attention mask ≠ 0), so the result never depends on the batch's padding.
    public func embedQueries(inputIds: Tensor, attentionMask: Tensor) throws -> [TokenEmbeddings] {
        try embed(inputIds: inputIds, attentionMask: attentionMask, pixelValues: nil)
    }

    /// Embeds token id lists (left-padded into one batch here).
    public func embedQueries(_ sequences: [[Int]]) throws -> [TokenEmbeddings] {
        let (ids, mask) = try ColModernVBertError.wrapping {
            try ModelInput.leftPadded(sequences, pad: config.text.padTokenId ?? 0)
        }
        return try embed(inputIds: ids, attentionMask: mask, pixelValues: nil)
    }

    /// Embeds a processed image batch: pixel values [B, tiles, C, S, S] padded with all-zero tiles.
    public func embedImages(inputIds: Tensor, attentionMask: Tensor, pixelValues: Tensor) throws -> [TokenEmbeddings] {
        try embed(inputIds: inputIds, attentionMask: attentionMask, pixelValues: pixelValues)
    }

    /// Embeds image prompts of different sizes in one batch without building padding tiles.
    public func embedImages(_ prompts: [ImagePrompt]) throws -> [TokenEmbeddings] {
        try ColModernVBertError.wrapping {
            let (ids, mask) = try ModelInput.leftPadded(prompts.map(\.inputIds), pad: config.text.padTokenId ?? 0)
            let batch = try ModelInput(inputIds: ids, attentionMask: mask, config: config)
            let tiles = try ImageTiles(items: prompts.map(\.tiles), config: config.vision)
            try batch.checkImageTokens(tilesPerItem: tiles.realTilesPerItem, imageSeqLen: config.imageSeqLen)
            let features = try tiles.real.map { try imageFeatures($0) }
            return try split(run(batch, imageFeatures: features), batch: batch)
        }
    }

    func embed(inputIds: Tensor, attentionMask: Tensor, pixelValues: Tensor?) throws -> [TokenEmbeddings] {
        try ColModernVBertError.wrapping {
            let batch = try ModelInput(inputIds: inputIds, attentionMask: attentionMask, config: config)
            return try split(forward(batch, pixelValues: pixelValues), batch: batch)
        }
    }

    /// [B, L, dim] → each item's own token rows, as float32 on the host.
    func split(_ output: Tensor, batch: ModelInput) throws -> [TokenEmbeddings] {
        let values = try output.floats()
        let length = batch.length
        return batch.tokenPositions.enumerated().map { item, positions in
            var own = [Float]()
            own.reserveCapacity(positions.count * dim)
            for position in positions {
                let start = (item * length + position) * dim
                own.append(contentsOf: values[start..<(start + dim)])
            }
            return TokenEmbeddings(tokenCount: positions.count, dim: dim, values: own)
        }
    }
}
