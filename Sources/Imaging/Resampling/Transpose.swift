/// Swaps the axes of an interleaved RGB image (pixel (x, y) -> (y, x)), in cache
/// blocks. Lets the horizontal resampling pass reuse the vertical pass, whose
/// inner loop runs over contiguous bytes and vectorises.
enum RGBTranspose {
    static let block = 32

    /// `source` is `height` rows of `width` pixels; the result is `width` rows of `height` pixels.
    static func transpose(_ source: UnsafeBufferPointer<UInt8>, width: Int, height: Int, maxThreads: Int) -> [UInt8] {
        let count = width * height * 3
        return [UInt8](unsafeUninitializedCapacity: count) { target, initialized in
            let input = source.baseAddress!
            let output = target.baseAddress!
            let blockRows = (width + block - 1) / block
            // Each worker writes whole output rows (source columns), so writes never overlap.
            ParallelRows.run(count: blockRows, maxWorkers: maxThreads, minimumPerChunk: 8) { range in
                for blockRow in range {
                    let x0 = blockRow * block
                    let x1 = min(x0 + block, width)
                    var y0 = 0
                    while y0 < height {
                        let y1 = min(y0 + block, height)
                        for x in x0..<x1 {
                            var out = output + (x * height + y0) * 3
                            var inp = input + (y0 * width + x) * 3
                            for _ in y0..<y1 {
                                out[0] = inp[0]
                                out[1] = inp[1]
                                out[2] = inp[2]
                                out += 3
                                inp += width * 3
                            }
                        }
                        y0 = y1
                    }
                }
            }
            initialized = count
        }
    }
}
