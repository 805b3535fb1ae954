/// transformers' Idefics3 image processor (PIL backend) as ColModernVBert uses it:
///
/// 1. paint the RGB image's transparent colour (if any) white, as the reference's
///    RGB conversion does;
/// 2. resize (Lanczos, Pillow-exact) so the longest side is `size.longest_edge`;
/// 3. resize again so both sides are multiples of the tile size;
/// 4. cut row-major tiles and add the global tile: the step-3 image resized to one tile;
/// 5. rescale by `rescale_factor` and normalise with mean/std, channels first.
///
/// Every resize starts from the previous resize's 8-bit result, as in the
/// reference (each is a separate Pillow call). Without splitting, step 3-4 is a
/// single resize to one tile and rows = cols = 0.
public struct Idefics3ImageProcessor: Sendable {
    public let config: Idefics3ProcessorConfig
    /// Threads used per image for resizing and tiling.
    public var maxThreads: Int
    private let table: NormalizationTable

    /// Nil for configurations whose mean/std do not have three entries.
    public init?(config: Idefics3ProcessorConfig, maxThreads: Int = 1) {
        guard config.imageMean.count == 3, config.imageStd.count == 3, config.tileSize > 0, config.longestEdge > 0
        else { return nil }
        self.config = config
        self.maxThreads = max(1, maxThreads)
        self.table = NormalizationTable(config: config)
    }

    public func process(_ image: RGBImage) -> ProcessedImage {
        let resampler = Resampler(filter: config.resample, maxThreads: maxThreads)
        var current = image.compositingTransparentColorOnWhite()
        if config.doResize {
            let size = Idefics3Geometry.resizedSize(
                height: current.height, width: current.width, longestEdge: config.longestEdge)
            current = resize(current, height: size.height, width: size.width, resampler)
        }
        let tile = config.tileSize
        guard config.doImageSplitting else {
            let global = resize(current, height: tile, width: tile, resampler)
            return assemble(crops: [], global: global, rows: 0, cols: 0)
        }
        let target = Idefics3Geometry.visionEncoderSize(height: current.height, width: current.width, tileSize: tile)
        current = resize(current, height: target.height, width: target.width, resampler)
        let grid = Idefics3Geometry.tileGrid(height: current.height, width: current.width, tileSize: tile)
        guard grid.rows > 0 else {
            return assemble(crops: [], global: current, rows: 0, cols: 0)
        }
        var crops: [(top: Int, left: Int)] = []
        for row in 0..<grid.rows {
            for col in 0..<grid.cols {
                crops.append((row * tile, col * tile))
            }
        }
        let global = resize(current, height: tile, width: tile, resampler)
        return assemble(source: current, crops: crops, global: global, rows: grid.rows, cols: grid.cols)
    }

    private func resize(_ image: RGBImage, height: Int, width: Int, _ resampler: Resampler) -> RGBImage {
        // Sizes from the geometry are always positive, so the resampler cannot refuse them.
        resampler.resize(image, width: width, height: height) ?? image
    }

    /// Writes the crops of `source` (each tile x tile from its top-left corner),
    /// then `global`, normalised and channels-first.
    private func assemble(
        source: RGBImage? = nil, crops: [(top: Int, left: Int)], global: RGBImage, rows: Int, cols: Int
    ) -> ProcessedImage {
        let tile = config.tileSize
        let tileLength = 3 * tile * tile
        let tileCount = crops.count + 1
        let values = [Float](unsafeUninitializedCapacity: tileCount * tileLength) { buffer, initialized in
            let output = buffer.baseAddress!
            table.values.withUnsafeBufferPointer { lookup in
                ParallelRows.run(count: tileCount, maxWorkers: maxThreads, minimumPerChunk: 1) { indices in
                    for index in indices {
                        let image = index < crops.count ? source! : global
                        let origin = index < crops.count ? crops[index] : (top: 0, left: 0)
                        image.pixels.withUnsafeBufferPointer { pixels in
                            Self.writeTile(
                                from: pixels.baseAddress!, imageWidth: image.width, top: origin.top,
                                left: origin.left, tile: tile, lookup: lookup.baseAddress!,
                                into: output + index * tileLength)
                        }
                    }
                }
            }
            initialized = tileCount * tileLength
        }
        return ProcessedImage(
            pixelValues: values, tileCount: tileCount, tileHeight: tile, tileWidth: tile, rows: rows, cols: cols)
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
