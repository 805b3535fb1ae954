import Foundation
import Testing
import Torch

@testable import ColModernVBert

/// A sliding layer's long sequences run SDPA in blocks of queries against their window's keys
/// (`ModernBertAttention.banded`): the same output as one masked SDPA call over the sequence, with
/// padded rows and keys, for windows narrower and wider than a block and a last, partial block.
@Suite struct BandedAttentionTests {
    /// Distinct, fixed values [2, 3, length, dim].
    static func values(_ length: Int, phase: Double, dim: Int = 8) throws -> Tensor {
        try (Tensor.arange(0, Double(2 * 3 * length * dim), dtype: .float32).reshape([2, 3, length, dim]) * (0.173 + phase)).sin()
    }

    static func masks(length: Int, window: Int) throws -> Tensor {
        let index = try Tensor.arange(0, Double(length), dtype: .int64)
        // Row 0 unpadded; row 1 padded after 250 tokens.
        let valid = try Tensor.cat([index.le(Double(length)).unsqueeze(0), index.le(249).unsqueeze(0)], dim: 0)
        let masks = try AttentionMasks(valid: valid, length: length, window: window, kinds: [.sliding], device: .cpu)
        return try #require(masks.mask(for: .sliding))
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Float {
        zip(try a.floats(), try b.floats()).map { Swift.abs($0 - $1) }.max() ?? .infinity
    }

    @Test(arguments: [(300, 4), (517, 64), (1145, 64), (700, 150)])
    func blocksGiveTheMaskedCallsOutput(length: Int, window: Int) throws {
        let query = try Self.values(length, phase: 0)
        let key = try Self.values(length, phase: 0.05)
        let value = try Self.values(length, phase: 0.11)
        let mask = try Self.masks(length: length, window: window)
        let whole = try Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: mask, scale: 0.35)
        let blocks = try ModernBertAttention.banded(query: query, key: key, value: value, mask: mask, window: window, scale: 0.35)
        #expect(blocks.shape == [2, 3, length, 8])
        #expect(try Self.maxDifference(blocks, whole) < 1e-5)
        // Blocks that reach one key too few on each side give another output: the check can fail.
        let short = try ModernBertAttention.banded(query: query, key: key, value: value, mask: mask, window: window - 1, scale: 0.35)
        #expect(try Self.maxDifference(short, whole) > 1e-3)
    }

    /// The bridge's long attention (where this CPU has AVX-512) in a page's two layer kinds: a
    /// full layer's one call with the padding mask and a sliding layer's blocks, each against
    /// libtorch's masked SDPA over the whole sequence.
    @Test(arguments: [(600, 64), (1145, 64)])
    func theBridgesLongAttentionGivesSDPAsOutput(length: Int, window: Int) throws {
        guard ModernBertAttention.usesLongAttention(device: .cpu, dtype: .float32, isa: .avx512, headDim: 16) else { return }
        let query = try Self.values(length, phase: 0, dim: 16) * 3
        let key = try Self.values(length, phase: 0.05, dim: 16)
        let value = try Self.values(length, phase: 0.11, dim: 16)
        let sliding = try Self.masks(length: length, window: window)
        let full = try Self.masks(length: length, window: length)
        for mask in [sliding, full] {
            let whole = try Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: mask, scale: 0.35)
            let bridge = try ModernBertAttention.attend(query: query, key: key, value: value, mask: mask, scale: 0.35, onBridge: true)
            #expect(try Self.maxDifference(bridge, whole) < 1e-5)
        }
        let whole = try Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: sliding, scale: 0.35)
        let blocks = try ModernBertAttention.banded(
            query: query, key: key, value: value, mask: sliding, window: window, scale: 0.35, onBridge: true)
        #expect(try Self.maxDifference(blocks, whole) < 1e-5)
    }

    @Test func theLongAttentionFollowsTheTier() {
        let available = Tensor.longAttentionAvailable
        #expect(ModernBertAttention.usesLongAttention(device: .cpu, dtype: .float32, isa: .avx512, headDim: 64) == available)
        #expect(ModernBertAttention.usesLongAttention(device: .cpu, dtype: .float32, isa: .amxBF16, headDim: 64) == available)
        #expect(!ModernBertAttention.usesLongAttention(device: .cpu, dtype: .float32, isa: .avx2, headDim: 64))
        #expect(!ModernBertAttention.usesLongAttention(device: .cpu, dtype: .bfloat16, isa: .avx512, headDim: 64))
        #expect(!ModernBertAttention.usesLongAttention(device: .cpu, dtype: .float32, isa: .avx512, headDim: 8))
        #expect(!ModernBertAttention.usesLongAttention(device: .cuda(0), dtype: .float32, isa: .avx512, headDim: 64))
    }

    @Test func pagesAreBandedAndQueriesAreNot() {
        // The published window (64 each side) and block: a page's text pass (~900-1200 tokens)
        // runs banded, a query (~30) and sequences up to twice a block's keys do not.
        #expect(ModernBertAttention.runsBanded(length: 877, window: 64))
        #expect(ModernBertAttention.runsBanded(length: 512, window: 64))
        #expect(!ModernBertAttention.runsBanded(length: 511, window: 64))
        #expect(!ModernBertAttention.runsBanded(length: 32, window: 64))
    }
}
