/// transformers' Idefics3 image processor as ColModernVBert uses it, in either of its
/// backends (`ImageBackend`: torchvision, the default, or PIL), equal to it bit for bit:
///
/// 1. paint the RGB image's transparent colour (if any) white, as the reference's
///    RGB conversion does;
/// 2. resize (Lanczos in the backend's arithmetic) so the longest side is `size.longest_edge`;
/// 3. resize again so both sides are multiples of the tile size;
/// 4. cut row-major tiles and add the global tile: the step-3 image resized to one tile;
/// 5. rescale by `rescale_factor` and normalise with mean/std, channels first.
///
/// Every resize starts from the previous resize's 8-bit result, as in the
/// reference (each is a separate Pillow or torch call, on uint8 data). Without splitting, step 3-4 is a
/// single resize to one tile and rows = cols = 0.
public struct Idefics3ImageProcessor: Sendable {
    public let config: Idefics3ProcessorConfig
    /// Whose arithmetic the resizes and the normalisation reproduce.
    public let backend: ImageBackend
    /// Threads used per image for resizing and tiling.
    public var maxThreads: Int
    private let table: NormalizationTable

    /// Nil for configurations whose mean/std do not have three entries.
    public init?(config: Idefics3ProcessorConfig, backend: ImageBackend = .torchvision, maxThreads: Int = 1) {
        guard config.imageMean.count == 3, config.imageStd.count == 3, config.tileSize > 0, config.longestEdge > 0
        else { return nil }
        self.config = config
        self.backend = backend
        self.maxThreads = max(1, maxThreads)
        self.table = NormalizationTable(config: config, backend: backend)
    }

    /// The tile grid an image of this size will get, without processing it (what
    /// the prompt builder needs for `<row_R_col_C>` tokens). Equal to `process`'s.
    public func layout(width: Int, height: Int) -> TileLayout {
        let tile = config.tileSize
        guard width > 0, height > 0 else { return TileLayout(rows: 0, cols: 0, tileSize: tile) }
        var size = (height: height, width: width)
        if config.doResize {
            size = Idefics3Geometry.resizedSize(height: height, width: width, longestEdge: config.longestEdge)
        }
        guard config.doImageSplitting else { return TileLayout(rows: 0, cols: 0, tileSize: tile) }
        let target = Idefics3Geometry.visionEncoderSize(height: size.height, width: size.width, tileSize: tile)
        let grid = Idefics3Geometry.tileGrid(height: target.height, width: target.width, tileSize: tile)
        return TileLayout(rows: grid.rows, cols: grid.cols, tileSize: tile)
    }

    /// Processes `image` into a new array.
    public func process(_ image: RGBImage) -> ProcessedImage {
        let prepared = prepare(image)
        let layout = prepared.layout
        let values = [Float](unsafeUninitializedCapacity: layout.valueCount) { buffer, initialized in
            write(prepared, into: buffer.baseAddress!)
            initialized = layout.valueCount
        }
        return ProcessedImage(
            pixelValues: values, tileCount: layout.tileCount, tileHeight: layout.tileSize,
            tileWidth: layout.tileSize, rows: layout.rows, cols: layout.cols)
    }

    /// Processes `image` straight into caller-owned memory (for example a tensor's
    /// storage), which saves allocating and copying ~53 MB per page. `values` must
    /// hold at least `layout(width:height:).valueCount` floats; only that many are written.
    public func process(_ image: RGBImage, into values: UnsafeMutableBufferPointer<Float>) throws(BufferTooSmall)
        -> TileLayout
    {
        let needed = layout(width: image.width, height: image.height).valueCount
        guard let base = values.baseAddress, values.count >= needed else {
            throw BufferTooSmall(needed: needed, provided: values.count)
        }
        let prepared = prepare(image)
        write(prepared, into: base)
        return prepared.layout
    }

    /// The destination passed to `process(_:into:)` cannot hold the tiles.
    public struct BufferTooSmall: Error, Equatable, Sendable {
        public let needed: Int
        public let provided: Int
    }

    /// Resized images and where the tiles come from.
    private struct Prepared {
        var source: RGBImage?
        var crops: [(top: Int, left: Int)]
        var global: RGBImage
        var layout: TileLayout
    }

    private func prepare(_ image: RGBImage) -> Prepared {
        let resampler = Resampler(filter: config.resample, arithmetic: backend.resampleArithmetic, maxThreads: maxThreads)
        let tile = config.tileSize
        var current = image.compositingTransparentColorOnWhite()
        if config.doResize {
            let size = Idefics3Geometry.resizedSize(
                height: current.height, width: current.width, longestEdge: config.longestEdge)
            current = resize(current, height: size.height, width: size.width, resampler)
        }
        guard config.doImageSplitting else {
            let global = resize(current, height: tile, width: tile, resampler)
            return Prepared(source: nil, crops: [], global: global, layout: TileLayout(rows: 0, cols: 0, tileSize: tile))
        }
        let target = Idefics3Geometry.visionEncoderSize(height: current.height, width: current.width, tileSize: tile)
        current = resize(current, height: target.height, width: target.width, resampler)
        let grid = Idefics3Geometry.tileGrid(height: current.height, width: current.width, tileSize: tile)
        guard grid.rows > 0 else {
            return Prepared(source: nil, crops: [], global: current, layout: TileLayout(rows: 0, cols: 0, tileSize: tile))
        }
        var crops: [(top: Int, left: Int)] = []
        for row in 0..<grid.rows {
            for col in 0..<grid.cols {
                crops.append((row * tile, col * tile))
            }
        }
        let global = resize(current, height: tile, width: tile, resampler)
        return Prepared(
            source: current, crops: crops, global: global,
            layout: TileLayout(rows: grid.rows, cols: grid.cols, tileSize: tile))
    }

    private func resize(_ image: RGBImage, height: Int, width: Int, _ resampler: Resampler) -> RGBImage {
        // Sizes from the geometry are always positive, so the resampler cannot refuse them.
        resampler.resize(image, width: width, height: height) ?? image
    }

    /// Writes the crops of `source` (each tile x tile from its top-left corner),
    /// then `global`, normalised and channels-first.
    private func write(_ prepared: Prepared, into output: UnsafeMutablePointer<Float>) {
        let tile = config.tileSize
        let tileLength = 3 * tile * tile
        let crops = prepared.crops
        let tileCount = crops.count + 1
        table.values.withUnsafeBufferPointer { lookup in
            ParallelRows.run(count: tileCount, maxWorkers: maxThreads, minimumPerChunk: 1) { indices in
                for index in indices {
                    let image = index < crops.count ? prepared.source ?? prepared.global : prepared.global
                    let origin = index < crops.count ? crops[index] : (top: 0, left: 0)
                    image.pixels.withUnsafeBufferPointer { pixels in
                        Self.writeTile(
                            from: pixels.baseAddress!, imageWidth: image.width, top: origin.top, left: origin.left,
                            tile: tile, lookup: lookup.baseAddress!, into: output + index * tileLength)
                    }
                }
            }
        }
    }

    private static func writeTile(
        from pixels: UnsafePointer<UInt8>, imageWidth: Int, top: Int, left: Int, tile: Int,
        lookup: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>
    ) {
        let plane = tile * tile
        for y in 0..<tile {
            let row = pixels + ((top + y) * imageWidth + left) * 3
            let red = output + y * tile
            let green = red + plane
            let blue = green + plane
            for x in 0..<tile {
                red[x] = lookup[Int(row[x * 3])]
                green[x] = lookup[256 + Int(row[x * 3 + 1])]
                blue[x] = lookup[512 + Int(row[x * 3 + 2])]
            }
        }
    }
}
