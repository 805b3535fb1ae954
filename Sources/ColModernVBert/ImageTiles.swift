import Torch

/// The real tiles of an image batch and how many belong to each item: all the model needs of the
/// tile layout (the prompt carries rows and columns; the tile count is each tensor's first size).
///
/// Kept as parts, [n, C, S, S] each, in batch-then-tile order, so that tiles handed over per item
/// reach the vision tower in place: concatenating a batch of pages would copy every pixel again
/// (3 MB per 512 px tile), while the features that come out are 16x smaller.
package struct ImageTiles {
    /// Non-empty runs of real tiles, in batch-then-tile order.
    package let parts: [Tensor]
    package let realTilesPerItem: [Int]

    /// All real tiles [N, C, S, S] as one tensor; nil when there are none.
    var real: Tensor? {
        get throws { parts.isEmpty ? nil : (parts.count == 1 ? parts[0] : try Tensor.cat(parts, dim: 0)) }
    }

    /// A padded pixel batch [B, T, C, S, S]: like the reference, tiles whose values are all
    /// exactly 0 are padding and are dropped before the vision tower.
    init(pixelValues: Tensor, batch: Int, config: VisionConfig) throws {
        let shape = pixelValues.shape
        let size = config.imageSize
        guard shape.count == 5, shape[0] == batch, shape[2] == config.numChannels, shape[3] == size, shape[4] == size else {
            throw ColModernVBertError.invalidInput(
                "pixel values must be [\(batch), tiles, \(config.numChannels), \(size), \(size)], got \(shape)")
        }
        guard pixelValues.dtype.isFloatingPoint else {
            throw ColModernVBertError.invalidInput("pixel values must be floating point, got \(pixelValues.dtype)")
        }
        let perItem = shape[1]
        let flat = try pixelValues.reshape([batch * perItem, config.numChannels, size, size])
        let nonZero = try flat.ne(0).flatten(1).sum(dims: [1]).gt(0).bools()
        var counts = [Int](repeating: 0, count: batch)
        var indices: [Int64] = []
        for (index, isReal) in nonZero.enumerated() where isReal {
            counts[index / max(perItem, 1)] += 1
            indices.append(Int64(index))
        }
        realTilesPerItem = counts
        if indices.isEmpty {
            parts = []
        } else if indices.count == flat.size(0) {
            parts = [flat]
        } else {
            let selection = try Tensor(int64s: indices, shape: [indices.count]).to(flat.device)
            parts = [try flat.indexSelect(dim: 0, index: selection)]
        }
    }

    /// Tiles that come without padding: one [T, C, S, S] tensor per item, used as they are.
    init(items: [Tensor], config: VisionConfig) throws {
        let size = config.imageSize
        var counts: [Int] = []
        var parts: [Tensor] = []
        for (item, tiles) in items.enumerated() {
            let shape = tiles.shape
            guard shape.count == 4, shape[1] == config.numChannels, shape[2] == size, shape[3] == size else {
                throw ColModernVBertError.invalidInput(
                    "item \(item): tiles must be [tiles, \(config.numChannels), \(size), \(size)], got \(shape)")
            }
            guard tiles.dtype.isFloatingPoint else {
                throw ColModernVBertError.invalidInput("item \(item): pixel values must be floating point, got \(tiles.dtype)")
            }
            counts.append(shape[0])
            if shape[0] > 0 { parts.append(tiles) }
        }
        realTilesPerItem = counts
        self.parts = parts
    }
}
