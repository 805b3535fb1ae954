import Torch

/// The real tiles of a padded pixel batch [B, T, C, S, S]: like the reference, tiles whose values
/// are all exactly 0 are padding and are dropped before the vision tower.
struct ImageTiles {
    /// Real tiles [N, C, S, S] in batch-then-tile order; nil when there are none.
    let real: Tensor?
    let realTilesPerItem: [Int]

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
            real = nil
        } else if indices.count == flat.size(0) {
            real = flat
        } else {
            let selection = try Tensor(int64s: indices, shape: [indices.count]).to(flat.device)
            real = try flat.indexSelect(dim: 0, index: selection)
        }
    }

    /// Tiles that come without padding: one [T, C, S, S] tensor per item.
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
        real = parts.isEmpty ? nil : (parts.count == 1 ? parts[0] : try Tensor.cat(parts, dim: 0))
    }
}
