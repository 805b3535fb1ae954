/// Ward-linkage agglomerative clustering cut into at most `k` flat clusters, with the same
/// merge order, tie-breaking and cluster numbering as SciPy's
/// `fcluster(linkage(X, method="ward", metric="euclidean"), t=k, criterion="maxclust")`,
/// which is what colpali-engine's hierarchical token pooler runs.
///
/// - Merges: the nearest-neighbour chain algorithm over a condensed distance matrix with
///   the Lance–Williams update for Ward (O(n²) time and n(n−1)/2 doubles). The chain prefers
///   its previous element on ties, then the lowest index, as SciPy's does.
/// - The merges are then ordered by height (stable) and relabelled with a union–find, so
///   node `n + i` is the i-th merge and each merge lists its smaller child first.
/// - The cut: the smallest merge height (from the second merge on) at which cutting leaves
///   at most `k` clusters; flat clusters are numbered in the order an iterative depth-first
///   walk from the root meets them (left child first; a leaf child of a non-cluster node is
///   numbered after that node's other subtree), as SciPy numbers them.
struct WardClustering {
    /// One merge: the two children (node ids; leaves are 0..<n), its height and size.
    struct Merge: Equatable {
        var left: Int
        var right: Int
        var height: Double
        var size: Int
    }

    let count: Int
    /// Sorted by height; node `count + i` is `merges[i]`.
    let merges: [Merge]

    /// - Parameter distances: the condensed pairwise distances (SciPy's `pdist` order:
    ///   (0,1), (0,2), ..., (0,n−1), (1,2), ...), consumed.
    init(count n: Int, condensedDistances distances: [Double]) {
        precondition(n >= 1 && distances.count == n * (n - 1) / 2, "condensed matrix size does not match n")
        count = n
        guard n > 1 else {
            merges = []
            return
        }
        var d = distances
        @inline(__always) func index(_ a: Int, _ b: Int) -> Int {
            let (i, j) = a < b ? (a, b) : (b, a)
            return n * i - (i * (i + 1)) / 2 + (j - i - 1)
        }
        var size = [Int](repeating: 1, count: n)
        var chain: [Int] = []
        chain.reserveCapacity(n)
        var raw: [Merge] = []
        raw.reserveCapacity(n - 1)
        for _ in 0..<(n - 1) {
            if chain.isEmpty, let first = size.firstIndex(where: { $0 > 0 }) {
                chain.append(first)
            }
            var x = 0
            var y = 0
            var best = Double.infinity
            while true {
                x = chain[chain.count - 1]
                if chain.count > 1 {
                    y = chain[chain.count - 2]
                    best = d[index(x, y)]
                } else {
                    best = .infinity
                }
                for i in 0..<n where size[i] > 0 && i != x {
                    let candidate = d[index(x, i)]
                    if candidate < best {
                        best = candidate
                        y = i
                    }
                }
                if chain.count > 1 && y == chain[chain.count - 2] { break }
                chain.append(y)
            }
            chain.removeLast(2)
            if x > y { swap(&x, &y) }
            let nx = Double(size[x])
            let ny = Double(size[y])
            raw.append(Merge(left: x, right: y, height: best, size: size[x] + size[y]))
            size[x] = 0
            size[y] += Int(nx)
            // The merged cluster lives on at index y.
            for i in 0..<n where size[i] > 0 && i != y {
                let ni = Double(size[i])
                let dxi = d[index(i, x)]
                let dyi = d[index(i, y)]
                let t = 1 / (nx + ny + ni)
                d[index(i, y)] = ((ni + nx) * t * dxi * dxi + (ni + ny) * t * dyi * dyi - ni * t * best * best).squareRoot()
            }
        }
        // Stable sort by height, then relabel: the i-th merge becomes node n + i.
        let order = raw.indices.sorted { (raw[$0].height, $0) < (raw[$1].height, $1) }
        var parent = [Int](0..<(2 * n - 1))
        var nodeSize = [Int](repeating: 1, count: 2 * n - 1)
        func find(_ node: Int) -> Int {
            var root = node
            while parent[root] != root { root = parent[root] }
            var walk = node
            while parent[walk] != root {
                let next = parent[walk]
                parent[walk] = root
                walk = next
            }
            return root
        }
        var sorted: [Merge] = []
        sorted.reserveCapacity(n - 1)
        for (step, rawIndex) in order.enumerated() {
            let a = find(raw[rawIndex].left)
            let b = find(raw[rawIndex].right)
            let node = n + step
            parent[a] = node
            parent[b] = node
            nodeSize[node] = nodeSize[a] + nodeSize[b]
            sorted.append(Merge(left: min(a, b), right: max(a, b), height: raw[rawIndex].height, size: nodeSize[node]))
        }
        merges = sorted
    }

    /// Flat cluster number (0-based) of every observation, for at most `k` clusters.
    func flatClusters(maxClusters k: Int) -> [Int] {
        let n = count
        guard n > 1 else { return [Int](repeating: 0, count: n) }
        let k = max(k, 1)
        // The smallest threshold among merges[1...] that leaves at most k clusters
        // (heights are sorted and Ward's are monotone, so a merge's height is its subtree's maximum).
        var threshold = merges[n - 2].height
        var lower = 0
        var upper = n - 1
        while upper - lower > 1 {
            let middle = (lower + upper) >> 1
            let candidate = merges[middle].height
            if clusterCount(threshold: candidate, limit: k) > k {
                lower = middle
            } else {
                upper = middle
                threshold = candidate
            }
        }
        return label(threshold: threshold)
    }

    /// Clusters a cut at `threshold` makes, counting stopped past `limit`.
    private func clusterCount(threshold: Double, limit: Int) -> Int {
        var clusters = 0
        var stack = [2 * count - 2]
        while let node = stack.popLast() {
            if node < count || merges[node - count].height <= threshold {
                clusters += 1
                if clusters > limit { break }
            } else {
                stack.append(merges[node - count].left)
                stack.append(merges[node - count].right)
            }
        }
        return clusters
    }

    /// Numbers the clusters of a cut at `threshold` in SciPy's walk order.
    private func label(threshold: Double) -> [Int] {
        let n = count
        var labels = [Int](repeating: -1, count: n)
        var visited = [Bool](repeating: false, count: 2 * n - 1)
        var stack = [2 * n - 2]
        var clusters = -1
        var leader = -1
        while let node = stack.last {
            let merge = merges[node - n]
            if leader == -1 && merge.height <= threshold {
                leader = node
                clusters += 1
            }
            if merge.left >= n && !visited[merge.left] {
                visited[merge.left] = true
                stack.append(merge.left)
                continue
            }
            if merge.right >= n && !visited[merge.right] {
                visited[merge.right] = true
                stack.append(merge.right)
                continue
            }
            for leaf in [merge.left, merge.right] where leaf < n {
                if leader == -1 { clusters += 1 }
                labels[leaf] = clusters
            }
            if leader == node { leader = -1 }
            stack.removeLast()
        }
        return labels
    }
}
