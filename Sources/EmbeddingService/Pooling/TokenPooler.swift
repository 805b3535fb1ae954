/// Hierarchical token pooling, as colpali-engine's `HierarchicalTokenPooler` does it: the
/// vectors are clustered with Ward linkage (euclidean) over the rows of their 1 − cosine
/// similarity matrix, cut into `max(n / factor, 1)` clusters, and each cluster is replaced by
/// the mean of its vectors, L2-normalised. Clusters come out in SciPy's cluster order.
///
/// The rows of 1 − S (S = E·Eᵀ, E the n × d vectors) are n-dimensional, so their
/// pairwise distances would cost n³. But ‖(1 − S)ᵢ − (1 − S)ⱼ‖ = ‖E(eᵢ − eⱼ)‖ = ‖R(eᵢ − eⱼ)‖
/// for the d × d triangular R of E = QR, so the same distances come from n² d-dimensional
/// differences (d = 128): for a 1088-patch page ~150 M multiply-adds instead of 1.3 G.
/// Working on differences (not a Gram expansion) keeps identical vectors at distance 0.
public enum TokenPooler {
    /// The pooled vectors (`clusters.count` × `dim`, row-major) and the input rows in each.
    public struct Result: Sendable, Equatable {
        public let values: [Float]
        public let clusters: [[Int]]
    }

    /// Pools `count` vectors of `dim` floats (row-major `values`) by `factor`; factor 1, or
    /// fewer than two vectors, returns them unchanged (one cluster per vector).
    public static func pool(_ values: [Float], count: Int, dim: Int, factor: Int) -> Result {
        precondition(values.count == count * dim && factor >= 1, "values must hold count × dim floats")
        guard factor > 1, count > 1 else {
            return Result(values: values, clusters: (0..<count).map { [$0] })
        }
        let distances = condensedDistances(values, count: count, dim: dim)
        let clustering = WardClustering(count: count, condensedDistances: distances)
        let labels = clustering.flatClusters(maxClusters: max(count / factor, 1))
        var clusters = [[Int]](repeating: [], count: (labels.max() ?? -1) + 1)
        for (row, label) in labels.enumerated() { clusters[label].append(row) }
        clusters.removeAll { $0.isEmpty }
        var pooled = [Float](repeating: 0, count: clusters.count * dim)
        for (c, members) in clusters.enumerated() {
            var sum = [Double](repeating: 0, count: dim)
            for row in members {
                for j in 0..<dim { sum[j] += Double(values[row * dim + j]) }
            }
            let mean = sum.map { $0 / Double(members.count) }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            // F.normalize's eps: a zero mean stays zero.
            let scale = 1 / max(norm, 1e-12)
            for j in 0..<dim { pooled[c * dim + j] = Float(mean[j] * scale) }
        }
        return Result(values: pooled, clusters: clusters)
    }

    /// ‖(1 − S)ᵢ − (1 − S)ⱼ‖ for all i < j, in SciPy's condensed order.
    static func condensedDistances(_ values: [Float], count n: Int, dim d: Int) -> [Double] {
        let r = triangularFactor(values, count: n, dim: d)
        // f_i = R·e_i, stored row-major n × d.
        var f = [Double](repeating: 0, count: n * d)
        for i in 0..<n {
            for a in 0..<d {
                var s = 0.0
                for b in a..<d { s += r[a * d + b] * Double(values[i * d + b]) }
                f[i * d + a] = s
            }
        }
        var out = [Double](repeating: 0, count: n * (n - 1) / 2)
        var k = 0
        f.withUnsafeBufferPointer { f in
            for i in 0..<n {
                for j in (i + 1)..<n {
                    var s = 0.0
                    for a in 0..<d {
                        let t = f[i * d + a] - f[j * d + a]
                        s += t * t
                    }
                    out[k] = s.squareRoot()
                    k += 1
                }
            }
        }
        return out
    }

    /// The upper-triangular d × d R of E = QR (Householder), row-major; rows past the rank
    /// are zero. Only RᵀR = EᵀE matters here, so signs are free.
    static func triangularFactor(_ values: [Float], count n: Int, dim d: Int) -> [Double] {
        // Column-major copy of E (n × d), reduced in place.
        var a = [Double](repeating: 0, count: n * d)
        for i in 0..<n {
            for j in 0..<d { a[j * n + i] = Double(values[i * d + j]) }
        }
        for k in 0..<min(n, d) {
            var norm = 0.0
            for i in k..<n { norm += a[k * n + i] * a[k * n + i] }
            norm = norm.squareRoot()
            guard norm > 0 else { continue }
            let alpha = a[k * n + k] > 0 ? -norm : norm
            // v = x − alpha·e₁, applied as H = I − 2vvᵀ/(vᵀv).
            a[k * n + k] -= alpha
            var vv = 0.0
            for i in k..<n { vv += a[k * n + i] * a[k * n + i] }
            if vv > 0 {
                for j in (k + 1)..<d {
                    var dot = 0.0
                    for i in k..<n { dot += a[k * n + i] * a[j * n + i] }
                    let scale = 2 * dot / vv
                    for i in k..<n { a[j * n + i] -= scale * a[k * n + i] }
                }
            }
            a[k * n + k] = alpha
        }
        var r = [Double](repeating: 0, count: d * d)
        for row in 0..<min(n, d) {
            for column in row..<d { r[row * d + column] = a[column * n + row] }
        }
        return r
    }
}
