import CImageCodecs

/// Resizes 8-bit RGB images byte for byte as one of two references does (see
/// `ResampleArithmetic`): two separable passes in 32-bit fixed point with the
/// reference's rounding and clipping and an 8-bit intermediate, in the reference's
/// pass order (the order matters: the intermediate is clipped and rounded to 8 bits).
/// Run first, the horizontal pass covers only the rows the vertical pass reads.
public struct Resampler: Sendable {
    public var filter: ResampleFilter
    /// Whose fixed point and pass order to reproduce; Pillow's unless told otherwise.
    public var arithmetic: ResampleArithmetic
    /// Upper bound on threads used for one resize (1 = calling thread only).
    public var maxThreads: Int
    /// Use the AVX2 kernel when the CPU has it (tests turn it off to check the
    /// portable path gives the same bytes).
    var allowAVX2 = true

    public init(filter: ResampleFilter = .lanczos, arithmetic: ResampleArithmetic = .pillow, maxThreads: Int = 1) {
        self.filter = filter
        self.arithmetic = arithmetic
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
        let horizontal = ResampleKernel(inputSize: sourceWidth, outputSize: width, filter: filter, arithmetic: arithmetic)
        let vertical = ResampleKernel(inputSize: sourceHeight, outputSize: height, filter: filter, arithmetic: arithmetic)
        guard width != sourceWidth else {
            return verticalPass(source, width: width, firstRow: 0, kernel: vertical, rows: height)
        }
        if height != sourceHeight && verticalFirst(from: (sourceWidth, sourceHeight), to: (width, height)) {
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

    /// Pillow 13 runs the vertical pass first when the height shrinks by more than
    /// twice the width's reduction; torch always runs the horizontal pass first.
    private func verticalFirst(from source: (width: Int, height: Int), to target: (width: Int, height: Int)) -> Bool {
        switch arithmetic {
        case .pillow:
            let shrinkY = source.height - target.height
            return shrinkY > 0 && shrinkY > 2 * (source.width - target.width)
        case .torch:
            return false
        }
    }

    /// Resamples the rows `rows` of `source` horizontally to `width` pixels. Done as
    /// transpose, vertical pass, transpose: the same sums in the same order (so the
    /// same bytes), but with an inner loop over contiguous memory that vectorises.
    private func horizontalPass(
        _ source: UnsafeBufferPointer<UInt8>, sourceWidth: Int, rows: Range<Int>, kernel: ResampleKernel, width: Int
    ) -> [UInt8] {
        let band = UnsafeBufferPointer(rebasing: source[(rows.lowerBound * sourceWidth * 3)..<(rows.upperBound * sourceWidth * 3)])
        let columns = RGBTranspose.transpose(band, width: sourceWidth, height: rows.count, maxThreads: maxThreads)
        let resampled = columns.withUnsafeBufferPointer { columns in
            verticalPass(columns, width: rows.count, firstRow: 0, kernel: kernel, rows: width)
        }
        return resampled.withUnsafeBufferPointer { resampled in
            RGBTranspose.transpose(resampled, width: rows.count, height: width, maxThreads: maxThreads)
        }
    }

    /// `source` holds rows starting at input row `firstRow`; the kernel's starts
    /// are absolute input rows.
    private func verticalPass(
        _ source: UnsafeBufferPointer<UInt8>, width: Int, firstRow: Int, kernel: ResampleKernel, rows height: Int
    ) -> [UInt8] {
        let stride = width * 3
        let taps = kernel.taps
        let shift = kernel.precisionBits
        let avx2 = allowAVX2 && ic_resample_has_avx2() != 0
        return [UInt8](unsafeUninitializedCapacity: height * stride) { target, initialized in
            let output = target.baseAddress!
            kernel.starts.withUnsafeBufferPointer { starts in
                kernel.counts.withUnsafeBufferPointer { counts in
                    kernel.weights.withUnsafeBufferPointer { weights in
                        ParallelRows.run(count: height, maxWorkers: maxThreads, minimumPerChunk: 32) { chunk in
                            for row in chunk {
                                Self.verticalRow(
                                    rows: source.baseAddress! + (starts[row] - firstRow) * stride, stride: stride,
                                    weights: weights.baseAddress! + row * taps, count: counts[row], shift: shift,
                                    into: output + row * stride, avx2: avx2)
                            }
                        }
                    }
                }
            }
            initialized = height * stride
        }
    }

    /// One output row of the vertical pass: `count` weighted input rows summed from
    /// one half, shifted right by `shift` (the weights' fraction bits) and clipped.
    /// Sixteen bytes at a time with the sums held in registers (one load per tap
    /// instead of a load and a store of an accumulator array), then the tail.
    @inline(__always)
    private static func verticalRow(
        rows: UnsafePointer<UInt8>, stride: Int, weights: UnsafePointer<Int32>, count: Int, shift: Int32,
        into out: UnsafeMutablePointer<UInt8>, avx2: Bool
    ) {
        typealias Lanes = SIMD16<Int32>
        let start = Int32(1) << (shift - 1)
        let half = Lanes(repeating: start)
        let shifts = Lanes(repeating: shift)
        let maximum = Lanes(repeating: 255)
        var index = avx2 ? ic_resample_vertical_row_avx2(rows, stride, weights, Int32(count), shift, out, stride) : 0
        while index + 16 <= stride {
            var sum = half
            for tap in 0..<count {
                let bytes = UnsafeRawPointer(rows + tap * stride + index).loadUnaligned(as: SIMD16<UInt8>.self)
                sum &+= Lanes(truncatingIfNeeded: bytes) &* Lanes(repeating: weights[tap])
            }
            // Pillow's clip8: arithmetic shift, then clamp to 0...255.
            let clipped = (sum &>> shifts).clamped(lowerBound: .zero, upperBound: maximum)
            UnsafeMutableRawPointer(out + index).storeBytes(
                of: SIMD16<UInt8>(truncatingIfNeeded: clipped), as: SIMD16<UInt8>.self)
            index += 16
        }
        while index < stride {
            var sum = start
            for tap in 0..<count {
                sum &+= Int32(rows[tap * stride + index]) &* weights[tap]
            }
            out[index] = ResampleKernel.clip(sum, shift: shift)
            index += 1
        }
    }
}
