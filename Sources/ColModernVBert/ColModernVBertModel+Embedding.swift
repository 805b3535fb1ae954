import Torch

/// An image batch checked against the model and ready for the two towers: the prompts' ids
/// (left-padded) and each item's tiles.
package struct ImageBatch {
    package let input: ModelInput
    package let tiles: ImageTiles
}

extension ColModernVBertModel {
    /// Embeds a processed query batch. Returns one `TokenVectors` per row, holding only the
    /// row's own tokens (attention mask ≠ 0), so the result never depends on the batch's padding.
    public func embedQueries(inputIds: Tensor, attentionMask: Tensor) throws -> [TokenVectors] {
        try embed(inputIds: inputIds, attentionMask: attentionMask, pixelValues: nil)
    }

    /// Embeds token id lists (left-padded into one batch here).
    public func embedQueries(_ sequences: [[Int]]) throws -> [TokenVectors] {
        let (ids, mask) = try ColModernVBertError.wrapping {
            try ModelInput.leftPadded(sequences, pad: config.text.padTokenId ?? 0)
        }
        return try embed(inputIds: ids, attentionMask: mask, pixelValues: nil)
    }

    /// Embeds a processed image batch: pixel values [B, tiles, C, S, S] padded with all-zero tiles.
    public func embedImages(inputIds: Tensor, attentionMask: Tensor, pixelValues: Tensor) throws -> [TokenVectors] {
        try embed(inputIds: inputIds, attentionMask: attentionMask, pixelValues: pixelValues)
    }

    /// Embeds images of different sizes in one batch without padding tiles. Item `i` is the prompt
    /// `inputIds[i]` (`imageSeqLen` `<image>` tokens per tile, in tile order) with its tiles
    /// `tiles[i]` [T, C, S, S]. Tiles already in the model's device and dtype are read in place.
    ///
    /// `isCancelled` is asked before each item's vision tower and before the text tower; when it
    /// says yes the call stops there and throws `CancellationError`, so a caller that has gone
    /// away holds the model for at most one item's vision tower more.
    public func embedImages(inputIds: [[Int]], tiles: [Tensor], isCancelled: () -> Bool = { false }) throws -> [TokenVectors] {
        let batch = try imageBatch(inputIds: inputIds, tiles: tiles)
        let features = try imageFeatures(of: batch, isCancelled: isCancelled)
        if isCancelled() { throw CancellationError() }
        return try embed(batch, imageFeatures: features)
    }

    // MARK: - The image path in its stages (the model benchmark times each)

    /// Checks prompts and tiles against each other and the model.
    package func imageBatch(inputIds: [[Int]], tiles: [Tensor]) throws -> ImageBatch {
        try ColModernVBertError.wrapping {
            guard inputIds.count == tiles.count else {
                throw ColModernVBertError.invalidInput("\(inputIds.count) image prompts but \(tiles.count) tile tensors")
            }
            let (ids, mask) = try ModelInput.leftPadded(inputIds, pad: config.text.padTokenId ?? 0)
            let input = try ModelInput(inputIds: ids, attentionMask: mask, config: config)
            let tiles = try ImageTiles(items: tiles, config: config.vision)
            try input.checkImageTokens(tilesPerItem: tiles.realTilesPerItem, imageSeqLen: config.imageSeqLen)
            return ImageBatch(input: input, tiles: tiles)
        }
    }

    /// Vision tower and connector, item by item (no concatenated copy of the pixels):
    /// [N · imageSeqLen, textHidden] in batch-then-tile order; nil when there are no tiles.
    /// `isCancelled` is asked before each item; a yes throws `CancellationError`.
    package func imageFeatures(of batch: ImageBatch, isCancelled: () -> Bool = { false }) throws -> Tensor? {
        try ColModernVBertError.wrapping {
            let features = try batch.tiles.parts.map { part in
                if isCancelled() { throw CancellationError() }
                return try imageFeatures(part)
            }
            return features.count <= 1 ? features.first : try Tensor.cat(features, dim: 0)
        }
    }

    /// Text tower and head, with `imageFeatures` in the `<image>` positions; each item's own tokens.
    package func embed(_ batch: ImageBatch, imageFeatures: Tensor?) throws -> [TokenVectors] {
        try ColModernVBertError.wrapping {
            try split(run(batch.input, imageFeatures: imageFeatures), batch: batch.input)
        }
    }

    func embed(inputIds: Tensor, attentionMask: Tensor, pixelValues: Tensor?) throws -> [TokenVectors] {
        try ColModernVBertError.wrapping {
            let batch = try ModelInput(inputIds: inputIds, attentionMask: attentionMask, config: config)
            return try split(forward(batch, pixelValues: pixelValues), batch: batch)
        }
    }

    /// [B, L, dim] → each item's own token rows, as float32 on the host.
    func split(_ output: Tensor, batch: ModelInput) throws -> [TokenVectors] {
        let values = try output.floats()
        let length = batch.length
        return batch.tokenPositions.enumerated().map { item, positions in
            var own = [Float]()
            own.reserveCapacity(positions.count * dim)
            for position in positions {
                let start = (item * length + position) * dim
                own.append(contentsOf: values[start..<(start + dim)])
            }
            return TokenVectors(tokenCount: positions.count, dim: dim, values: own)
        }
    }
}
