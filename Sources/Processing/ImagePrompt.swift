import Imaging

/// Token ids of one image's prompt, and where its `<image>` placeholders are (the positions
/// the vision features replace, and whose output vectors are the image's patch embeddings).
public struct ImagePrompt: Sendable, Equatable {
    /// The tile grid the prompt was expanded for.
    public let layout: TileLayout
    /// `[CLS]`, the visual prompt with `<image>` expanded, `[SEP]`.
    public let inputIDs: [Int]
    /// Index in `inputIDs` of every `<image>` token, ascending: the tiles row-major, then the
    /// global view, `imageSeqLen` each.
    public let imageTokenPositions: [Int]
    /// `<image>` tokens per view.
    public let imageSeqLen: Int

    /// Index of the first `<image>` token.
    public var imagePatchStart: Int { imageTokenPositions.first ?? 0 }
    public var imagePatchCount: Int { imageTokenPositions.count }

    /// The `<image>` positions of each view: `layout.rows * layout.cols` tiles in row-major
    /// order, then the global view last.
    public var positionsByView: [ArraySlice<Int>] {
        guard imageSeqLen > 0 else { return [] }
        return stride(from: 0, to: imageTokenPositions.count, by: imageSeqLen).map {
            imageTokenPositions[$0..<min($0 + imageSeqLen, imageTokenPositions.count)]
        }
    }
}
