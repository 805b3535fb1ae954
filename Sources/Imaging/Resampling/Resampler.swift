/// Resizes 8-bit RGB images the way Pillow's `Image.resize` does for "RGB": two
/// separable passes in 32-bit fixed point with Pillow's rounding and clipping and
/// an 8-bit intermediate, in Pillow 13's order (vertical first when the height
/// shrinks by more than twice the width's reduction, else horizontal first, over
/// only the rows the vertical pass reads). The order matters: the intermediate is
/// rounded to 8 bits. The results equal Pillow's byte for byte.
public struct Resampler: Sendable {
    public var filter: ResampleFilter
    /// Upper bound on threads used for one resize (1 = calling thread only).
    public var maxThreads: Int

    public init(filter: ResampleFilter = .lanczos, maxThreads: Int = 1) {
        self.filter = filter
        self.maxThreads = max(1, maxThreads)
    }

    /// `image` resized to `width` x `height` (both must be positive). The
    /// transparent colour, if any, is not carried over: resizing mixes colours.
    public func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage? {
        guard width > 0, height > 0 else { return nil }
        let pixels = image.pixels.withUnsafeBufferPointer { source in
            resize(source, width: image.width, height: image.height, toWidth: width, toHeight: height)
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Interleaved RGB `source` (`sourceWidth * sourceHeight * 3` bytes) resized.
    func resize(
        _ source: UnsafeBufferPointer<UInt8>, width sourceWidth: Int, height sourceHeight: Int,
        toWidth width: Int, toHeight height: Int
    ) -> [UInt8] {
        precondition(source.count == sourceWidth * sourceHeight * 3 && width > 0 && height > 0)
        if width == sourceWidth && height == sourceHeight {
            return Array(source)
        }
        let horizontal = ResampleKernel(inputSize: sourceWidth, outputSize: width, filter: filter)
        let vertical = ResampleKernel(inputSize: sourceHeight, outputSize: height, filter: filter)
        guard width != sourceWidth else {
            return verticalPass(source, width: width, firstRow: 0, kernel: vertical, rows: height)
        }
        let shrinkY = sourceHeight - height
        if height != sourceHeight && shrinkY > 0 && shrinkY > 2 * (sourceWidth - width) {
            let columns = verticalPass(source, width: sourceWidth, firstRow: 0, kernel: vertical, rows: height)
            return columns.withUnsafeBufferPointer { rows in
                horizontalPass(rows, sourceWidth: sourceWidth, rows: 0..<height, kernel: horizontal, width: width)
            }
        }
        // Only rows firstRow..<lastRow of the source contribute to the output.
        let firstRow = height != sourceHeight ? vertical.starts[0] : 0
        let lastRow = height != sourceHeight ? vertical.starts[height - 1] + vertical.counts[height - 1] : sourceHeight
        let intermediate = horizontalPass(
            source, sourceWidth: sourceWidth, rows: firstRow..<lastRow, kernel: horizontal, width: width)
        guard height != sourceHeight else { return intermediate }
        return intermediate.withUnsafeBufferPointer { rows in
            verticalPass(rows, width: width, firstRow: firstRow, kernel: vertical, rows: height)
        }
    }

    private func horizontalPass(
        _ source: UnsafeBufferPointer<UInt8>, sourceWidth: Int, rows: Range<Int>, kernel: ResampleKernel, width: Int
    ) -> [UInt8] {
        let rowCount = rows.count
        let sourceStride = sourceWidth * 3
        let targetStride = width * 3
        let taps = kernel.taps
        return [UInt8](unsafeUninitializedCapacity: rowCount * targetStride) { target, initialized in
            let output = target.baseAddress!
            kernel.starts.withUnsafeBufferPointer { starts in
                kernel.counts.withUnsafeBufferPointer { counts in
                    kernel.weights.withUnsafeBufferPointer { weights in
                        ParallelRows.run(count: rowCount, maxWorkers: maxThreads, minimumPerChunk: 64) { chunk in
                            for row in chunk {
                                let input = source.baseAddress! + (rows.lowerBound + row) * sourceStride
                                let out = output + row * targetStride
                                for x in 0..<width {
                                    let k = weights.baseAddress! + x * taps
                                    var pixel = input + starts[x] * 3
                                    var red = ResampleKernel.half
                                    var green = ResampleKernel.half
                                    var blue = ResampleKernel.half
                                    for tap in 0..<counts[x] {
                                        let weight = k[tap]
                                        red &+= Int32(pixel[0]) &* weight
                                        green &+= Int32(pixel[1]) &* weight
                                        blue &+= Int32(pixel[2]) &* weight
                                        pixel += 3
                                    }
                                    out[x * 3] = ResampleKernel.clip(red)
                                    out[x * 3 + 1] = ResampleKernel.clip(green)
                                    out[x * 3 + 2] = ResampleKernel.clip(blue)
                                }
                            }
                        }
                    }
                }
            }
            initialized = rowCount * targetStride
        }
    }

    /// `source` holds rows starting at input row `firstRow`; the kernel's starts
    /// are absolute input rows.
    private func verticalPass(
        _ source: UnsafeBufferPointer<UInt8>, width: Int, firstRow: Int, kernel: ResampleKernel, rows height: Int
    ) -> [UInt8] {
        let stride = width * 3
        let taps = kernel.taps
        return [UInt8](unsafeUninitializedCapacity: height * stride) { target, initialized in
            let output = target.baseAddress!
            kernel.starts.withUnsafeBufferPointer { starts in
                kernel.counts.withUnsafeBufferPointer { counts in
                    kernel.weights.withUnsafeBufferPointer { weights in
                        ParallelRows.run(count: height, maxWorkers: maxThreads, minimumPerChunk: 32) { chunk in
                            let sums = UnsafeMutablePointer<Int32>.allocate(capacity: stride)
                            defer { sums.deallocate() }
                            for row in chunk {
                                sums.initialize(repeating: ResampleKernel.half, count: stride)
                                let k = weights.baseAddress! + row * taps
                                for tap in 0..<counts[row] {
                                    let weight = k[tap]
                                    let input = source.baseAddress! + (starts[row] - firstRow + tap) * stride
                                    for index in 0..<stride {
                                        sums[index] &+= Int32(input[index]) &* weight
                                    }
                                }
                                let out = output + row * stride
                                for index in 0..<stride {
                                    out[index] = ResampleKernel.clip(sums[index])
                                }
                            }
                        }
                    }
                }
            }
            initialized = height * stride
        }
    }
}
