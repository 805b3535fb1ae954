import Foundation
import Testing

@testable import Imaging

/// The `.torch` resize arithmetic against torch's own uint8 antialiased Lanczos
/// (`interpolate(mode="lanczos", antialias=True)`, what torchvision's resize runs),
/// byte for byte, on the AVX2 path and on the portable one.
@Suite struct TorchResampleTests {
    let fixtures = ImageFixtures.committed

    @Test func matchesTorchInterpolate() throws {
        let cases = try #require(fixtures.expected.torch_resizes)
        #expect(cases.count >= 20)
        // The cases include ones where torch's bytes differ from Pillow's, so a resize in
        // Pillow's arithmetic could not pass.
        #expect(cases.filter { $0.bytes_differing_from_pillow > 0 }.count >= 10)
        for item in cases {
            let source = try ImageDecoder().decodeRGB(try fixtures.bytes(item.source))
            for (threads, avx2) in [(1, true), (3, true), (1, false), (2, false)] {
                var resampler = Resampler(arithmetic: .torch, maxThreads: threads)
                resampler.allowAVX2 = avx2
                let resized = try #require(resampler.resize(source, width: item.width, height: item.height))
                let label = "\(item.source) -> \(item.width)x\(item.height), \(threads) threads, avx2 \(avx2)"
                #expect(fnv1a64(resized.pixels) == item.fnv1a64, "\(label): sums \(channelSums(resized.pixels)) vs \(item.channel_sums)")
            }
        }
    }

    /// The fixtures reach both ends of the 16-bit weights' precision search.
    @Test func sixteenBitPrecisionFollowsTheLargestWeight() {
        // Shrinking 2000 -> 20 and 1000 -> 2 leaves the largest weight near 1/100 and 1/500.
        let hundredfold = ResampleKernel(inputSize: 2000, outputSize: 20, filter: .lanczos, arithmetic: .torch)
        let fivehundredfold = ResampleKernel(inputSize: 1000, outputSize: 2, filter: .lanczos, arithmetic: .torch)
        #expect(hundredfold.precisionBits == 21)
        #expect(fivehundredfold.precisionBits == 22)
        // Upscaling: a weight near 1 leaves 14 bits (2 * 2^14 rounds past 2^15 - 1).
        let upscale = ResampleKernel(inputSize: 37, outputSize: 200, filter: .lanczos, arithmetic: .torch)
        #expect(upscale.precisionBits == 14)
        #expect(upscale.weights.allSatisfy { abs($0) < 1 << 15 })
        // Pillow's arithmetic keeps 22 bits whatever the weights.
        #expect(ResampleKernel(inputSize: 37, outputSize: 200, filter: .lanczos).precisionBits == 22)
        #expect(ResampleKernel.sixteenBitPrecision(largestWeight: 0.5) == 15)
        #expect(ResampleKernel.sixteenBitPrecision(largestWeight: 0.0) == 22)
    }

    /// A flat image stays flat and a same-size resize is a copy in this arithmetic too.
    @Test func constantsStayConstant() throws {
        let flat = try #require(RGBImage(width: 5, height: 3, pixels: [UInt8](repeating: 200, count: 45)))
        for (width, height) in [(1, 1), (17, 2), (3, 40), (64, 64)] {
            let resized = try #require(Resampler(arithmetic: .torch).resize(flat, width: width, height: height))
            #expect(resized.pixels.allSatisfy { $0 == 200 }, "\(width)x\(height)")
        }
        #expect(Resampler(arithmetic: .torch).resize(flat, width: 5, height: 3) == flat)
    }
}
