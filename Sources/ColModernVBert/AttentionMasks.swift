import Torch

/// Boolean attention masks (true = may attend) for one text forward pass, per attention kind.
///
/// Keys at padding positions are masked out (the reference's bidirectional padding mask); in
/// sliding layers keys further than `window` positions away are masked too (|i − j| ≤ window, the
/// reference's bidirectional sliding window of `local_attention / 2`). Each token may additionally
/// always attend to itself: that changes nothing for real tokens (they are in their own window and
/// not padding) but gives padding rows at least one key, so no softmax row is empty and no NaN can
/// arise and spread through later layers. `nil` means "attend everywhere" and lets SDPA take its
/// unmasked fast path.
struct AttentionMasks {
    let full: Tensor?
    let sliding: Tensor?

    /// - Parameters:
    ///   - valid: [B, L] bool, true for real tokens; nil when no row is padded.
    init(valid: Tensor?, length: Int, window: Int, kinds: Set<AttentionKind>, device: Device) throws {
        let keys = try valid.map { try $0.view([$0.size(0), 1, 1, length]) }  // [B, 1, 1, L]
        let needsBand = kinds.contains(.sliding) && length - 1 > window
        guard keys != nil || needsBand else {
            full = nil
            sliding = nil
            return
        }
        let index = try Tensor.arange(0, Double(length), dtype: .int64, device: device)
        let distance = try (index.unsqueeze(1) - index.unsqueeze(0)).abs()  // [L, L]
        let diagonal = try distance.eq(0).view([1, 1, length, length])
        full = kinds.contains(.full) ? try keys.map { try $0.logicalOr(diagonal) } : nil
        guard kinds.contains(.sliding) else {
            sliding = nil
            return
        }
        let band = needsBand ? try distance.le(Double(window)).view([1, 1, length, length]) : nil
        switch (keys, band) {
        case (nil, nil): sliding = nil
        case (nil, let band?): sliding = band
        case (let keys?, nil): sliding = try keys.logicalOr(diagonal)
        case (let keys?, let band?): sliding = try keys.logicalAnd(band).logicalOr(diagonal)
        }
    }

    func mask(for kind: AttentionKind) -> Tensor? {
        kind == .full ? full : sliding
    }
}
