import Imaging

/// One image ready for the model, the value Processing hands on: the prompt ids (with where the
/// `<image>` tokens are and the tile layout they were expanded for) and the tiles' pixel memory,
/// [tileCount, 3, tileSize, tileSize] floats, normalised, channels first, in the order the prompt
/// names the tiles.
public struct ImageInput: Sendable {
    public let prompt: ImagePrompt
    public let pixels: PixelMemory
    /// Size of the decoded image, before preprocessing.
    public let imageWidth: Int
    public let imageHeight: Int

    public var layout: TileLayout { prompt.layout }
    /// The shape of `pixels`.
    public var pixelShape: [Int] { prompt.layout.shape }
}
