import Foundation
import Testing

@testable import EmbeddingService

/// The pooler against SciPy's Ward clusters as colpali-engine computes them
/// (scripts/fixtures/make_pooling_fixtures.py; both sides generate the same vectors).
@Suite struct TokenPoolingTests {
    struct Case: Decodable {
        let name: String
        let seed: UInt64
        let n: Int
        let dim: Int
        let centers: Int
        let duplicates: Int
        let factor: Int
        let labels: [Int]
        let checksum: Double
        let pooled: [Float]?
    }

    struct Cases: Decodable { let cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/pooling/cases.json").standardizedFileURL
        guard let data = try? Data(contentsOf: url), let decoded = try? JSONDecoder().decode(Cases.self, from: data) else {
            return []
        }
        return decoded.cases
    }()

    /// The fixture script's recipe, in float32 arithmetic.
    static func uniforms(seed: UInt64, count: Int) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Double(state >> 40) * 0x1p-23 - 1)
        }
    }

    static func vectors(_ c: Case) -> [Float] {
        let centers = uniforms(seed: c.seed, count: c.centers * c.dim)
        let noise = uniforms(seed: c.seed + 1, count: c.n * c.dim)
        var rows = [Float](repeating: 0, count: c.n * c.dim)
        for i in 0..<c.n {
            for j in 0..<c.dim {
                rows[i * c.dim + j] = centers[(i % c.centers) * c.dim + j] + Float(0.25) * noise[i * c.dim + j]
            }
        }
        for k in 0..<c.duplicates {
            for j in 0..<c.dim { rows[(c.n - 1 - k) * c.dim + j] = rows[j] }
        }
        return rows
    }

    @Test func fixturesArePresent() {
        #expect(Self.cases.count >= 7, "Tests/Fixtures/pooling/cases.json is missing or unreadable")
    }

    @Test(arguments: cases.map(\.name))
    func clustersMatchSciPy(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let rows = Self.vectors(c)
        // The same inputs as the fixture script's.
        #expect(abs(rows.reduce(0.0) { $0 + Double($1) } - c.checksum) <= 1e-9 * max(1, abs(c.checksum)))
        let result = TokenPooler.pool(rows, count: c.n, dim: c.dim, factor: c.factor)
        var labels = [Int](repeating: -1, count: c.n)
        for (cluster, members) in result.clusters.enumerated() {
            for row in members { labels[row] = cluster }
        }
        let differing = zip(labels, c.labels).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(
            labels.count == c.labels.count && differing.isEmpty,
            "\(differing.count) of \(c.n) labels differ from SciPy's for \(name), first at row \(differing.first ?? -1)")
        #expect(result.clusters.count <= max(c.n / c.factor, 1))
        #expect(result.values.count == result.clusters.count * c.dim)
        if let expected = c.pooled {
            #expect(expected.count == result.values.count)
            let worst = zip(expected, result.values).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "pooled vectors differ by \(worst)")
        }
    }

    @Test func factorOneAndSingleVectorsAreUnchanged() {
        let rows: [Float] = [1, 0, 0, 1, 0.6, 0.8]
        let same = TokenPooler.pool(rows, count: 3, dim: 2, factor: 1)
        #expect(same.values == rows)
        #expect(same.clusters == [[0], [1], [2]])
        let one = TokenPooler.pool([0.6, 0.8], count: 1, dim: 2, factor: 3)
        #expect(one.values == [0.6, 0.8])
    }

    @Test func identicalVectorsAreAtDistanceZeroAndPoolToThemselves() {
        let v: [Float] = [0.28, 0.96]
        let w: [Float] = [1, 0]
        let rows = v + v + v + w + w + w
        let result = TokenPooler.pool(rows, count: 6, dim: 2, factor: 3)
        #expect(result.clusters.map { Set($0) }.sorted { $0.min()! < $1.min()! } == [Set([0, 1, 2]), Set([3, 4, 5])])
        let distances = TokenPooler.condensedDistances(rows, count: 6, dim: 2)
        #expect(distances[0] == 0)  // (0, 1)
        let pooledFirst = Array(result.values[(result.clusters.firstIndex { $0.contains(0) }! * 2)...].prefix(2))
        #expect(zip(pooledFirst, v).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    /// The QR shortcut gives the distances between rows of 1 − E·Eᵀ, computed directly.
    @Test func distancesEqualTheDirectDefinition() {
        let c = Case(
            name: "direct", seed: 99, n: 20, dim: 6, centers: 4, duplicates: 0, factor: 2, labels: [], checksum: 0, pooled: nil)
        let rows = Self.vectors(c)
        let fast = TokenPooler.condensedDistances(rows, count: c.n, dim: c.dim)
        var k = 0
        for i in 0..<c.n {
            for j in (i + 1)..<c.n {
                var s = 0.0
                for m in 0..<c.n {
                    var si = 0.0
                    var sj = 0.0
                    for a in 0..<c.dim {
                        si += Double(rows[i * c.dim + a]) * Double(rows[m * c.dim + a])
                        sj += Double(rows[j * c.dim + a]) * Double(rows[m * c.dim + a])
                    }
                    s += (si - sj) * (si - sj)
                }
                #expect(abs(fast[k] - s.squareRoot()) <= 1e-9 * max(1, s.squareRoot()))
                k += 1
            }
        }
    }
}
